// Scale-out on PostgreSQL: one `herald serve` (role all) and two `--role worker` processes on one
// database. kill -9 of a worker loses nothing; token refreshes stay single-flight across processes.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { generateMasterKey } from '../../src/services/secret-box.js';
import { eventually } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { describeNeeding } from '../helpers/needs.js';
import { createTestSchema, postgresMissing, type TestSchema } from '../helpers/postgres.js';
import { startServer, type ServerProcess } from '../helpers/process.js';

const KEY = 'scale-out-test-key-0123456789';

const SUITE = 'scale-out on PostgreSQL (3 processes)';
describeNeeding(postgresMissing, SUITE)(SUITE, () => {
  let schema: TestSchema;
  let processes: ServerProcess[] = [];
  let env: Record<string, string>;

  async function startThree(): Promise<{ api: ServerProcess; workers: ServerProcess[] }> {
    schema = await createTestSchema();
    env = {
      HERALD_DATABASE_URL: schema.url,
      HERALD_MASTER_KEY: generateMasterKey(),
      HERALD_API_KEY: KEY,
      HERALD_ALLOW_PRIVATE_NETWORK: '1',
      HERALD_LOG_LEVEL: 'warn',
      HERALD_LEASE: '3s',
      HERALD_DATABASE_POOL: '4',
    };
    const api = await startServer(['--port', '0', '--role', 'all'], env);
    const workers = [
      await startServer(['--port', '0', '--role', 'worker'], env),
      await startServer(['--port', '0', '--role', 'worker'], env),
    ];
    processes = [api, ...workers];
    return { api, workers };
  }

  afterEach(async () => {
    await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
    processes = [];
    await schema?.drop();
  });

  const call = (api: ServerProcess, path: string, body: unknown) =>
    fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
    });

  async function publish(api: ServerProcess, total: number, name: string): Promise<Set<string>> {
    const ids = new Set<string>();
    for (let b = 0; b < total / 1000; b++) {
      const batch = Array.from({ length: 1000 }, (_, i) => ({ name, packageId: `p-${b}-${i}` }));
      const res = await call(api, '/v1/events', batch);
      expect(res.status).toBe(202);
      for (const id of ((await res.json()) as { ids: string[] }).ids) ids.add(id);
    }
    return ids;
  }

  describe('Basic endpoint', () => {
    let listener: Listener;
    beforeAll(async () => {
      listener = await startListener(() => ({ status: 200, delayMs: 2 }));
    });
    afterAll(() => listener.close());

    it('delivers 4,000 events across three processes, and survives kill -9 of a worker', async () => {
      const { api, workers } = await startThree();
      const reg = await call(api, '/api/callback', {
        url: listener.url,
        key: 'scale-key-1',
        events: ['DOCUMENT_SIGNED'],
      });
      expect(reg.status).toBe(200);
      const published = await publish(api, 4000, 'DOCUMENT_SIGNED');
      await listener.waitFor(800, 30_000);
      await workers[0]!.kill9();
      const unique = () => new Set(listener.received.map((r) => String(r.headers['webhook-id'])));
      await eventually(
        () => (unique().size >= 4000 ? true : undefined),
        60_000,
        'all 4,000 delivered',
      );
      const ids = unique();
      expect([...published].every((id) => ids.has(id))).toBe(true);
      console.log(
        `scale-out: 4000 events over 3 processes, kill -9 of one worker, ${listener.received.length - ids.size} duplicates`,
      );
      expect(await api.stop()).toBe(0);
      expect(await workers[1]!.stop()).toBe(0);
    }, 120_000);
  });

  describe('Salesforce-like org', () => {
    let sandbox: Sandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({
        rotation: true,
        accessTokenTtlMs: 1000,
        concurrentRefresh: 'revoke',
        tokenLatencyMs: 50,
      });
    });
    afterAll(() => sandbox.close());

    it('refreshes one at a time across processes, never presents a rotated-out token, keeps the grant alive', async () => {
      const { api } = await startThree();
      const refreshToken = sandbox.issueRefreshToken();
      const key = Buffer.from(
        JSON.stringify({
          host: sandbox.url,
          client_id: sandbox.connectedApp.clientId,
          refresh_token: refreshToken,
        }),
      ).toString('base64');
      const reg = await call(api, '/api/callback/connectors/salesforceOauth2', {
        url: `${sandbox.url}/services/apexrest/scale`,
        key,
        events: ['SIGNER_COMPLETE'],
      });
      expect(reg.status).toBe(200);
      const published = await publish(api, 2000, 'SIGNER_COMPLETE');
      await eventually(() => (sandbox.received.length >= 600 ? true : undefined), 30_000);
      sandbox.expireAccessTokens();
      const unique = () => new Set(sandbox.received.map((r) => r.headers['webhook-id']));
      await eventually(
        () => (unique().size >= 2000 ? true : undefined),
        60_000,
        'all 2,000 delivered',
      );
      const ids = unique();
      expect([...published].every((id) => ids.has(id))).toBe(true);
      const stats = sandbox.stats;
      expect(stats.maxConcurrentTokenRequests).toBe(1);
      expect(stats.rotatedOutTokenPresented).toBe(0);
      expect(stats.concurrentRefreshRejections).toBe(0);
      expect(stats.isGrantAlive(refreshToken)).toBe(true);
      console.log(
        `scale-out oauth: ${stats.byGrant.refresh_token} refreshes, ${stats.listenerRejected401} 401s, 3 processes`,
      );
    }, 120_000);
  });
});
