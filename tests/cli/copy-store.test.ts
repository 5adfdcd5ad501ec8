// Moving an embedded store to PostgreSQL with `herald copy-store`: the same API key works, secrets
// still decrypt, held work is delivered from the new store.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
