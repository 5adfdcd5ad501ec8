// Moving an embedded store to PostgreSQL with `herald copy-store`: the same API key works, secrets
// still decrypt, held work is delivered from the new store.

import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { eventually } from '../helpers/herald.js';
import { startListener } from '../helpers/listener.js';
import { describeNeeding } from '../helpers/needs.js';
import { createTestSchema, postgresMissing } from '../helpers/postgres.js';
import { runCli, startServer } from '../helpers/process.js';

const SUITE = 'herald copy-store (SQLite -> PostgreSQL)';
describeNeeding(postgresMissing, SUITE)(SUITE, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-copy-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('copies accounts, keys, endpoints with secrets and unfinished work', async () => {
    const listener = await startListener();
    const schema = await createTestSchema();
    try {
      const embedded = await startServer(
        ['--port', '0', '--data-dir', dataDir, '--allow-private-network'],
        { HERALD_API_KEY: '', HERALD_LOG_LEVEL: 'warn' },
      );
      const key = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
      const call = (base: string, method: string, path: string, body?: unknown) =>
        fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}` },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const ep = (await (
        await call(embedded.url, 'POST', '/v1/endpoints', {
          url: listener.url,
          events: ['PACKAGE_COMPLETE'],
          auth: { type: 'BASIC', key: 'copied-secret-key' },
        })
      ).json()) as { id: string };
      await call(embedded.url, 'PATCH', `/v1/endpoints/${ep.id}`, { state: 'disabled' });
      const published = (await (
        await call(
          embedded.url,
          'POST',
          '/v1/events',
          Array.from({ length: 50 }, (_, i) => ({ name: 'PACKAGE_COMPLETE', packageId: `c${i}` })),
        )
      ).json()) as { ids: string[] };
      expect(await embedded.stop()).toBe(0);

      const copied = await runCli(['copy-store', '--data-dir', dataDir, '--to', schema.url]);
      expect(copied.code, copied.stderr).toBe(0);
      expect(copied.stdout).toMatch(/1 accounts, 1 API keys, 1 endpoints/);
      expect(copied.stdout).toMatch(/50 events with 50 unfinished deliveries/);

      const masterKey = readFileSync(join(dataDir, 'master.key'), 'utf8').trim();
      const shared = await startServer(
        ['--port', '0', '--database', schema.url, '--allow-private-network'],
        { HERALD_MASTER_KEY: masterKey, HERALD_API_KEY: '', HERALD_LOG_LEVEL: 'warn' },
      );
      try {
        const list = (await (
          await call(shared.url, 'GET', `/v1/deliveries?endpoint=${ep.id}&status=held&limit=100`)
        ).json()) as { data: unknown[] };
        expect(list.data).toHaveLength(50);
        expect(
          (await call(shared.url, 'PATCH', `/v1/endpoints/${ep.id}`, { state: 'enabled' })).status,
        ).toBe(200);
        await listener.waitFor(50, 20_000);
        expect(new Set(listener.received.map((r) => r.headers['webhook-id']))).toEqual(
          new Set(published.ids),
        );
        expect(
          listener.received.every((r) => r.headers.authorization === 'Basic copied-secret-key'),
        ).toBe(true);
        await eventually(async () => {
          const done = (await (
            await call(
              shared.url,
              'GET',
              `/v1/deliveries?endpoint=${ep.id}&status=succeeded&limit=100`,
            )
          ).json()) as { data: unknown[] };
          return done.data.length === 50 ? true : undefined;
        });
      } finally {
        await shared.stop();
      }
      const again = await runCli(['copy-store', '--data-dir', dataDir, '--to', schema.url]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already holds accounts/);
    } finally {
      await listener.close();
      await schema.drop();
    }
  }, 90_000);

  it('copies in one transaction: a failure leaves the target empty and the copy can run again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-copy-fail-'));
    const schema = await createTestSchema();
    const accountsIn = async (): Promise<number> => {
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      try {
        return Number((await client.query('SELECT count(*) AS n FROM accounts')).rows[0].n);
      } finally {
        await client.end();
      }
    };
    try {
      const embedded = await startServer(['--port', '0', '--data-dir', dir], {
        HERALD_API_KEY: '',
        HERALD_LOG_LEVEL: 'warn',
      });
      const key = readFileSync(join(dir, 'api-key'), 'utf8').trim();
      await fetch(`${embedded.url}/v1/endpoints`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ url: 'https://listener.example.com/x', events: ['*'] }),
      });
      const publish = await fetch(`${embedded.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify(
          [1, 2, 3].map((i) => ({ name: 'PACKAGE_COMPLETE', packageId: `f${i}` })),
        ),
      });
      expect(publish.status).toBe(202);
      // A server still running: not a usage mistake, so exit code 1, not 2.
      const busy = await runCli(['copy-store', '--data-dir', dir, '--to', schema.url]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/A Herald \(pid \d+\) is using .*; stop it first/);
      await fetch(`${embedded.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ name: 'PACKAGE_COMPLETE', packageId: 'last' }),
      });
      expect(await embedded.stop()).toBe(0);

      // A payload PostgreSQL cannot hold (a NUL character; SQLite can): the copy fails at the
      // last event, after everything else was written in the same transaction.
      const db = new Database(join(dir, 'herald.db'));
      const { payload } = db
        .prepare("SELECT payload FROM events WHERE package_id = 'last'")
        .get() as {
        payload: string;
      };
      db.prepare("UPDATE events SET payload = ? WHERE package_id = 'last'").run(`${payload}\u0000`);
      db.close();
      const failed = await runCli(['copy-store', '--data-dir', dir, '--to', schema.url]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/herald copy-store: invalid byte sequence .*0x00/);
      expect(await accountsIn()).toBe(0);

      const repair = new Database(join(dir, 'herald.db'));
      repair.prepare("UPDATE events SET payload = ? WHERE package_id = 'last'").run(payload);
      repair.close();
      const copied = await runCli(['copy-store', '--data-dir', dir, '--to', schema.url]);
      expect(copied.code, copied.stderr).toBe(0);
      expect(copied.stdout).toMatch(/1 accounts, 1 API keys, 1 endpoints/);
      expect(copied.stdout).toMatch(/4 events with 4 unfinished deliveries/);
      expect(await accountsIn()).toBe(1);
    } finally {
      await schema.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
