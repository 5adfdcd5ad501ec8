// PostgreSQL going away under a working Herald, at chosen moments: a real `herald serve` process
// reaches the real PostgreSQL through a TCP relay on loopback that the test cuts (during publish
// commits, claims, result writes, a token refresh under the lock, the LISTEN connection, for 1 s,
// 5 s and 30 s), and whose sessions it terminates with pg_terminate_backend (only this Herald's,
// chosen by a unique application_name). Every case ends with the process alive, the safety net
// never reached, every published event delivered and nothing left in `delivering`.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKey } from '../../src/services/secret-box.js';
import { eventually, TEST_API_KEY } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { startLoopbackTokenServer, type LoopbackTokenServer } from '../helpers/oauth-loopback.js';
import {
  createTestSchema,
  postgresMissing,
  TEST_DATABASE_URL,
  type TestSchema,
} from '../helpers/postgres.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import { startRelay, type Relay } from '../helpers/relay.js';

const LEASE = '3s';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(postgresMissing !== undefined)('PostgreSQL faults under a running Herald', () => {
  const appName = `herald-faults-${randomBytes(5).toString('hex')}`;
  let schema: TestSchema;
  let relay: Relay;
  let admin: pg.Client;
  let listener: Listener;
  let tokens: LoopbackTokenServer;
  let herald: ServerProcess;
  let dataDir: string;
  /** Package ids published and accepted (202), and those the listener received. */
  const accepted = new Set<string>();
  const received = new Set<string>();
  let batchNo = 0;

  beforeAll(async () => {
    schema = await createTestSchema();
    const direct = new URL(TEST_DATABASE_URL!);
    relay = await startRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
    admin = new pg.Client({ connectionString: schema.url });
    admin.on('error', () => undefined);
    await admin.connect();
    tokens = await startLoopbackTokenServer();
    listener = await startListener((request) => {
      const event = JSON.parse(request.body) as { packageId: string };
      if (request.path.startsWith('/oauth') && !tokens.accepts(request.headers.authorization)) {
        return {
          status: 401,
          headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
          body: '[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]',
        };
      }
      received.add(event.packageId);
      return { status: 200 };
    });
    const url = new URL(relay.via(schema.url));
    url.searchParams.set('application_name', appName);
    dataDir = mkdtempSync(join(tmpdir(), 'herald-faults-'));
    herald = await startServer(['--database', url.toString(), '--port', '0'], {
      HERALD_HOST: '127.0.0.1',
      HERALD_DATA_DIR: dataDir,
      HERALD_MASTER_KEY: generateMasterKey(),
      HERALD_API_KEY: TEST_API_KEY,
      HERALD_ALLOW_PRIVATE_NETWORK: '1',
      HERALD_LEASE: LEASE,
      HERALD_POLL_INTERVAL: '250ms',
      HERALD_DATABASE_POOL: '4',
      HERALD_SHUTDOWN_TIMEOUT: '2s',
      HERALD_LOG_LEVEL: 'warn',
    });
    for (const [path, events, auth] of [
      ['/plain', ['PACKAGE_COMPLETE'], { type: 'NONE' }],
      [
        '/oauth',
        ['DOCUMENT_SIGNED'],
        {
          type: 'OAUTH2',
          grantType: 'REFRESH_TOKEN',
          tokenUrl: tokens.tokenUrl,
          clientId: 'herald-faults',
          clientSecret: 'faults-secret-0123456789',
          refreshToken: tokens.firstRefreshToken,
          authMechanism: 'BODY',
        },
      ],
    ] as const) {
      const created = await api('POST', '/v1/endpoints', {
        url: `${listener.url}${path}`,
        events,
        auth,
      });
      expect(created.status, await created.text()).toBe(201);
    }
  });

  afterAll(async () => {
    if (process.env.HERALD_FAULTS_LOG)
      (await import('node:fs')).writeFileSync(
        process.env.HERALD_FAULTS_LOG,
        herald?.output() ?? '',
      );
    await herald?.stop();
    await relay?.close();
    await listener?.close();
    await tokens?.close();
    await admin?.end().catch(() => undefined);
    await schema?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return fetch(`${herald.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_API_KEY}`,
        'content-type': 'application/json',
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /**
   * Publishes `batches` batches of `size` events, `parallel` at a time, each retried on 503 with
   * the same Idempotency-Key until accepted. Returns how many 503s were answered.
   */
  async function publish(
    name: string,
    batches: number,
    size = 20,
    parallel = 3,
  ): Promise<{ unavailable: number }> {
    let unavailable = 0;
    const queue = Array.from({ length: batches }, () => ++batchNo);
    const one = async (n: number): Promise<void> => {
      const ids = Array.from({ length: size }, (_, i) => `b${n}-${i}`);
      for (;;) {
        const res = await api(
          'POST',
          '/v1/events',
          ids.map((packageId) => ({ name, packageId })),
          { 'idempotency-key': `batch-${n}` },
        );
        const text = await res.text();
        if (res.status === 202) {
          for (const id of ids) accepted.add(id);
          return;
        }
        expect(res.status, text).toBe(503);
        expect(JSON.parse(text).code).toBe('store_unavailable');
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        unavailable++;
        await sleep(200);
      }
    };
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) await one(n);
      }),
    );
    return { unavailable };
  }

  async function statuses(): Promise<Record<string, number>> {
    const rows = await admin.query<{ status: string; n: number }>(
      'SELECT status, COUNT(*)::int AS n FROM deliveries GROUP BY status',
    );
    return Object.fromEntries(rows.rows.map((r) => [r.status, r.n]));
  }

  /** Every accepted event delivered and succeeded, the process alive, the safety net untouched. */
  async function settled(): Promise<void> {
    await eventually(
      async () => {
        const missing = [...accepted].filter((id) => !received.has(id));
        if (missing.length > 0) return undefined;
        const s = await statuses();
        return Object.keys(s).every((k) => k === 'succeeded') ? true : undefined;
      },
      60_000,
      'every accepted event to be delivered',
    );
    expect(await statuses()).toEqual({ succeeded: accepted.size });
    stillServing();
  }

  function stillServing(): void {
    expect(herald.child.exitCode).toBeNull();
    expect(herald.child.signalCode).toBeNull();
    const output = herald.output();
    expect(output).not.toContain('safety net');
    expect(output).not.toContain("Emitted 'error' event");
  }

  async function readyz(): Promise<{ status: number; body: any; retryAfter: string | null }> {
    const res = await fetch(`${herald.url}/readyz`);
    return {
      status: res.status,
      body: await res.json(),
      retryAfter: res.headers.get('retry-after'),
    };
  }

  /**
   * Publishes `batches` batches while the relay is cut for `ms` from the moment a client sends
   * `text` (see Relay.cutOn); `whileCut` runs during the outage.
   */
  async function cutDuring(
    text: string,
    ms: number,
    batches: number,
    options: { deliver?: boolean; whileCut?: () => Promise<void> } = {},
  ): Promise<{ unavailable: number }> {
    const cut = relay.cutOn(text, { deliver: options.deliver ?? false });
    const publishing = publish('PACKAGE_COMPLETE', batches);
    await cut;
    await options.whileCut?.();
    await sleep(ms);
    relay.restore();
    return publishing;
  }

  it('a publish commit cut for 1 s: the publishers get 503 and retry, nothing accepted is lost', async () => {
    const { unavailable } = await cutDuring('INSERT INTO events', 1000, 30);
    expect(unavailable).toBeGreaterThan(0);
    await settled();
  });

  it('a commit whose answer is lost: an Idempotency-Key retry is replayed, not doubled', async () => {
    await cutDuring('COMMIT', 1000, 10, { deliver: true });
    await settled();
    const events = await admin.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM events');
    expect(events.rows[0]!.n).toBe(accepted.size);
  });

  it('claims cut for 5 s: /readyz says 503 meanwhile, then claims resume', async () => {
    await cutDuring('SKIP LOCKED', 5000, 10, {
      whileCut: async () => {
        const down = await readyz();
        expect(down.status).toBe(503);
        expect(down.body.code).toBe('store_unavailable');
        expect(down.retryAfter).toMatch(/^\d+$/);
      },
    });
    await eventually(async () => ((await readyz()).status === 200 ? true : undefined), 20_000);
    await settled();
  });

  it('result writes cut for 5 s after the statement reached the server', async () => {
    await cutDuring('AS r(id, owner, status', 5000, 10, { deliver: true });
    await settled();
  });

  it('a token refresh under the lock cut for 1 s: one token request, the rotated token kept', async () => {
    await publish('DOCUMENT_SIGNED', 1, 10);
    await settled();
    expect(tokens.requests).toBe(1);

    // The listener refuses the token: Herald refreshes under the lock, and the store goes away
    // while the token endpoint answers, so the rotated refresh token cannot be stored at once.
    tokens.expireAccessToken();
    let cutDone!: () => void;
    const cutAt = new Promise<void>((r) => (cutDone = r));
    tokens.beforeNextAnswer(async () => {
      relay.cut();
      cutDone();
    });
    const publishing = publish('DOCUMENT_SIGNED', 2, 10);
    await cutAt;
    await sleep(1000);
    relay.restore();
    await publishing;
    await settled();
    expect(tokens.requests).toBe(2);
    const row = await eventually(async () => {
      const r = await admin.query<{ generation: number; lock_owner: string | null }>(
        'SELECT generation, lock_owner FROM oauth_tokens',
      );
      const t = r.rows[0];
      return t && t.generation === 2 && t.lock_owner === null ? t : undefined;
    }, 20_000);
    expect(row.generation).toBe(2);

    // The next refresh presents the rotated refresh token: no duplicate reached the server.
    tokens.expireAccessToken();
    await publish('DOCUMENT_SIGNED', 1, 10);
    await settled();
    expect(tokens.requests).toBe(3);
    expect(tokens.staleRefreshTokens).toBe(0);
    const endpoint = await admin.query<{ auth_status: string }>(
      "SELECT auth_status FROM endpoints WHERE url LIKE '%/oauth'",
    );
    expect(endpoint.rows[0]!.auth_status).toBe('ok');
  });

  it('the LISTEN connection dropped: Herald listens again and delivers what was published', async () => {
    // After the earlier cuts it may still be in its backoff: wait until it listens.
    await eventually(() => (relay.countWhere('LISTEN ') === 1 ? true : undefined), 20_000);
    expect(relay.dropWhere('LISTEN ')).toBe(1);
    await eventually(() => (relay.countWhere('LISTEN ') === 1 ? true : undefined), 20_000);
    await publish('PACKAGE_COMPLETE', 5);
    await settled();
  });

  it('pg_terminate_backend of every session of this Herald while it works', async () => {
    const before = accepted.size;
    const publishing = publish('PACKAGE_COMPLETE', 30);
    await eventually(() => (accepted.size > before ? true : undefined));
    // Only this Herald's sessions (other tests share the server): the pids are chosen first by
    // the unique application_name, checked, and only then terminated one by one.
    const sessions = await admin.query<{ pid: number; application_name: string }>(
      'SELECT pid, application_name FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [appName],
    );
    expect(sessions.rows.length).toBeGreaterThan(0);
    for (const { pid, application_name } of sessions.rows) {
      expect(application_name).toBe(appName);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    }
    await publishing;
    await eventually(() => (relay.countWhere('LISTEN ') === 1 ? true : undefined), 20_000);
    await settled();
  });

  it('a 30 s outage in the middle of publishing and delivering', { timeout: 120_000 }, async () => {
    const publishing = publish('PACKAGE_COMPLETE', 40, 20, 2);
    await eventually(() => (received.size > 0 ? true : undefined));
    relay.cut();
    await sleep(30_000);
    expect((await readyz()).status).toBe(503);
    relay.restore();
    const { unavailable } = await publishing;
    expect(unavailable).toBeGreaterThan(0);
    await settled();
    expect((await readyz()).status).toBe(200);
  });
});
