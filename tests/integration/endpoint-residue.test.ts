// Deleting an endpoint leaves nothing behind in any process: its metric series, the token
// manager's per-endpoint state (a decrypted bearer header among it), the worker's rate slot and
// endpoint copy. The process that deletes drops them at once; on PostgreSQL the other processes
// drop theirs once they next look at the store. And /metrics can require a token.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startHerald, type RunningHerald } from '../../src/main.js';
import { silentLogger } from '../../src/observability/logger.js';
import { generateMasterKey } from '../../src/services/secret-box.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually, startTestHerald, TEST_API_KEY, type TestHerald } from '../helpers/herald.js';
import { createTestSchema, postgresMissing, type TestSchema } from '../helpers/postgres.js';

const TOKEN_ANSWER = {
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ access_token: 'at-residue-0123456789', token_type: 'Bearer' }),
};

/** An OAuth endpoint with a rate limit: every kind of per-endpoint state a process keeps. */
function oauthEndpoint(listener: Listener, tokens: Listener) {
  return {
    url: listener.url,
    events: ['PACKAGE_COMPLETE'],
    auth: {
      type: 'OAUTH2',
      tokenUrl: `${tokens.url}/token`,
      clientId: 'client',
      clientSecret: 'client-secret-residue',
      grantType: 'CLIENT_CREDENTIALS',
    },
    options: { rateLimit: 1000 },
  };
}

async function metricsText(url: string, headers: Record<string, string> = {}): Promise<string> {
  return (await fetch(`${url}/metrics`, { headers })).text();
}

/** Where each part of the process still keeps something for `id`. */
function holding(herald: RunningHerald, id: string): string[] {
  return Object.entries(herald.residue.held())
    .filter(([, ids]) => ids.includes(id as never))
    .map(([part]) => part);
}

describe('deleting an endpoint', () => {
  let listener: Listener;
  let tokens: Listener;
  beforeAll(async () => {
    listener = await startListener();
    tokens = await startListener(() => TOKEN_ANSWER);
  });
  afterAll(async () => {
    await listener.close();
    await tokens.close();
  });

  it('drops its metric series and every per-endpoint state of the process at once', async () => {
    const herald = await startTestHerald();
    try {
      const created = await herald.api('POST', '/v1/endpoints', oauthEndpoint(listener, tokens));
      const id = created.body.id as string;
      const before = listener.received.length;
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'r1' });
      await listener.waitFor(before + 1);
      await eventually(() => (holding(herald, id).length === 4 ? true : undefined));
      expect(holding(herald, id).sort()).toEqual(['endpoint cache', 'metrics', 'tokens', 'worker']);
      expect(await metricsText(herald.url)).toContain(
        `herald_token_refreshes_total{endpoint="${id}"} 1`,
      );

      expect((await herald.api('DELETE', `/v1/endpoints/${id}`)).status).toBe(204);
      expect(holding(herald, id)).toEqual([]);
      expect(await metricsText(herald.url)).not.toContain(id);
    } finally {
      await herald.close();
    }
  });

  describe.skipIf(postgresMissing)('on PostgreSQL, in the other processes', () => {
    let schema: TestSchema;
    const heralds: RunningHerald[] = [];
    const dirs: string[] = [];
    beforeAll(async () => {
      schema = await createTestSchema();
    });
    afterAll(async () => {
      for (const h of heralds) await h.stop();
      await schema.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    async function start(role: 'api' | 'worker', masterKey: string): Promise<RunningHerald> {
      const dataDir = mkdtempSync(join(tmpdir(), 'herald-residue-'));
      dirs.push(dataDir);
      const config = loadConfig({
        HERALD_DATABASE_URL: schema.url,
        HERALD_MASTER_KEY: masterKey,
        HERALD_DATABASE_POOL: '3',
        HERALD_ROLE: role,
        HERALD_PORT: '0',
        HERALD_DATA_DIR: dataDir,
        HERALD_API_KEY: TEST_API_KEY,
        HERALD_ALLOW_PRIVATE_NETWORK: '1',
        HERALD_POLL_INTERVAL: '200ms',
        HERALD_LEASE: '2s',
        HERALD_SHUTDOWN_TIMEOUT: '2s',
      });
      const herald = await startHerald(config, { logger: silentLogger(), print: () => {} });
      heralds.push(herald);
      return herald;
    }

    it('drop theirs once they next look at the store', async () => {
      const masterKey = generateMasterKey();
      const api = await start('api', masterKey);
      const worker = await start('worker', masterKey);
      const call = (method: string, path: string, body?: unknown) =>
        fetch(`${api.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const created = (await (
        await call('POST', '/v1/endpoints', oauthEndpoint(listener, tokens))
      ).json()) as { id: string };
      const before = listener.received.length;
      await call('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'r2' });
      await listener.waitFor(before + 1);
      await eventually(() => (holding(worker, created.id).length === 4 ? true : undefined));
      expect(await metricsText(worker.url)).toContain(created.id);

      expect((await call('DELETE', `/v1/endpoints/${created.id}`)).status).toBe(204);
      await eventually(
        async () =>
          holding(worker, created.id).length === 0 &&
          !(await metricsText(worker.url)).includes(created.id)
            ? true
            : undefined,
        10_000,
        'the worker process to forget the deleted endpoint',
      );
    });
  });
});

describe('HERALD_METRICS_TOKEN', () => {
  let herald: TestHerald;
  const token = 'metrics-token-0123456789abcdef';
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_METRICS_TOKEN: token });
  });
  afterAll(() => herald.close());

  it('makes /metrics answer only with Authorization: Bearer <token>', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${token.slice(1)}` },
      { authorization: `Basic ${token}` },
      { authorization: `Bearer ${TEST_API_KEY}` },
    ]) {
      const res = await fetch(`${herald.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = (await res.json()) as { code: string };
      expect(body.code).toBe('unauthorized');
    }
    const ok = await fetch(`${herald.url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('herald_events_received_total');
  });
});
