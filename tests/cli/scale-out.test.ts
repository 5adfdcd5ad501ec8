// Scale-out on PostgreSQL: one `herald serve` (role all) and two `--role worker` processes on one
// database, checked to compete for the work rather than pass with one process doing it all:
// kill -9 of a worker while it holds leases loses nothing (the others take its work over, and
// each delivers); token refreshes stay single-flight across processes, and more than one
// process takes a turn at the refresh lock.

import pg from 'pg';
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

  async function publish(
    api: ServerProcess,
    total: number,
    name: string,
    prefix = 'p',
  ): Promise<Set<string>> {
    const ids = new Set<string>();
    for (let b = 0; b < total / 1000; b++) {
      const size = Math.min(1000, total - b * 1000);
      const batch = Array.from({ length: size }, (_, i) => ({
        name,
        packageId: `${prefix}-${b}-${i}`,
      }));
      const res = await call(api, '/v1/events', batch);
      expect(res.status).toBe(202);
      for (const id of ((await res.json()) as { ids: string[] }).ids) ids.add(id);
    }
    return ids;
  }

  /** Runs one query on the test's schema. */
  async function sql<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** A counter of one process's /metrics (0 when it has no such series yet). */
  async function counter(
    proc: ServerProcess,
    name: string,
    labels: Record<string, string>,
  ): Promise<number> {
    const text = await (await fetch(`${proc.url}/metrics`)).text();
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }
  const succeededBy = (proc: ServerProcess) =>
    counter(proc, 'herald_deliveries_total', { status: 'succeeded' });

  describe('Basic endpoint', () => {
    let listener: Listener;
    beforeAll(async () => {
      listener = await startListener(() => ({ status: 200, delayMs: 2 }));
    });
    afterAll(() => listener.close());

    it('delivers 4,000 events across three processes, and survives kill -9 of a worker that held leases', async () => {
      const { api, workers } = await startThree();
      const reg = await call(api, '/api/callback', {
        url: listener.url,
        key: 'scale-key-1',
        events: ['DOCUMENT_SIGNED'],
      });
      expect(reg.status).toBe(200);
      const published = await publish(api, 4000, 'DOCUMENT_SIGNED');
      await listener.waitFor(800, 30_000);
      // From now on the listener holds its answers: what each process has in flight (and
      // waiting behind it) stays leased to that process.
      let answer: () => void = () => undefined;
      const answering = new Promise<void>((resolve) => (answer = resolve));
      listener.respond(() => answering.then(() => ({ status: 200 })));
      const victim = workers[0]!;
      const leasedTo = async (pid: number) =>
        (
          await sql<{ id: string }>(
            `SELECT id FROM deliveries WHERE status = 'delivering' AND lease_owner LIKE $1`,
            [`%:${pid}:%`],
          )
        ).map((r) => r.id);
      await eventually(
        async () => ((await leasedTo(victim.child.pid!)).length > 0 ? true : undefined),
        30_000,
        'the worker to hold leases',
      );
      await victim.kill9();
      // Dead, it cannot give them back: they wait for their leases to expire.
      const orphaned = await leasedTo(victim.child.pid!);
      expect(orphaned.length).toBeGreaterThan(0);
      answer();
      const unique = () => new Set(listener.received.map((r) => String(r.headers['webhook-id'])));
      await eventually(
        () => (unique().size >= 4000 ? true : undefined),
        60_000,
        'all 4,000 delivered',
      );
      const ids = unique();
      expect([...published].every((id) => ids.has(id))).toBe(true);
      // The survivors took over what the dead worker held (what it had sent reached the
      // listener, but only a survivor can record a delivery as done), and both delivered:
      // neither process did all the work.
      await eventually(
        async () => {
          const done = await sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM deliveries WHERE id = ANY($1) AND status = 'succeeded'`,
            [orphaned],
          );
          return done[0]!.n === orphaned.length ? true : undefined;
        },
        30_000,
        'the dead worker’s deliveries recorded as succeeded by the others',
      );
      const survivors = [api, workers[1]!];
      const byProcess = await Promise.all(survivors.map(succeededBy));
      expect(byProcess.every((n) => n > 0)).toBe(true);
      console.log(
        `scale-out: 4000 events over 3 processes, kill -9 of a worker holding ${orphaned.length} leases, ${listener.received.length - ids.size} duplicates, survivors delivered ${byProcess.join(' and ')}`,
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

    it('refreshes one at a time across processes, each taking its turn, never presents a rotated-out token, keeps the grant alive', async () => {
      const { api, workers } = await startThree();
      const all = [api, ...workers];
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
      // New deliveries go straight to the publishing process's worker when it has room
      // (queue/handover.ts), so that process would meet every dead session first. Ordered by
      // package (one event per package here), every delivery is claimed instead, and the three
      // processes meet the dead sessions on equal terms.
      const listed = await fetch(`${api.url}/v1/endpoints`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      const [endpoint] = ((await listed.json()) as { data: { id: string }[] }).data;
      const ordered = await fetch(`${api.url}/v1/endpoints/${endpoint!.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ options: { ordering: 'package' } }),
      });
      expect(ordered.status).toBe(200);
      const refreshesBy = () =>
        Promise.all(
          all.map((p) =>
            counter(p, 'herald_token_requests_total', {
              grant: 'refresh_token',
              outcome: 'success',
            }),
          ),
        );
      const unique = () => new Set(sandbox.received.map((r) => r.headers['webhook-id']));
      // Rounds of 500 events, the sessions ended between rounds: whichever process meets a
      // dead session first takes the refresh lock. Until two processes have had a turn (a
      // process winning 9 rounds in a row among three fair ones: 1 in 6,561).
      const published = new Set<string>();
      let rounds = 0;
      let refreshes = await refreshesBy();
      while (rounds < 10 && refreshes.filter((n) => n > 0).length < 2) {
        if (rounds > 0) sandbox.expireAccessTokens();
        for (const id of await publish(api, 500, 'SIGNER_COMPLETE', `r${rounds}`)) {
          published.add(id);
        }
        await eventually(
          () => (unique().size >= published.size ? true : undefined),
          60_000,
          `round ${rounds + 1} delivered`,
        );
        rounds++;
        refreshes = await refreshesBy();
      }
      const ids = unique();
      expect([...published].every((id) => ids.has(id))).toBe(true);
      const stats = sandbox.stats;
      expect(refreshes.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
      // Every refresh the org saw was one of theirs, one at a time.
      expect(refreshes.reduce((a, b) => a + b, 0)).toBe(stats.byGrant.refresh_token);
      expect(stats.maxConcurrentTokenRequests).toBe(1);
      expect(stats.rotatedOutTokenPresented).toBe(0);
      expect(stats.concurrentRefreshRejections).toBe(0);
      expect(stats.isGrantAlive(refreshToken)).toBe(true);
      const delivered = await Promise.all(all.map(succeededBy));
      expect(delivered.every((n) => n > 0)).toBe(true);
      console.log(
        `scale-out oauth: ${rounds} rounds, refreshes by process ${refreshes.join('/')}, deliveries by process ${delivered.join('/')}, ${stats.listenerRejected401} 401s`,
      );
    }, 180_000);
  });
});
