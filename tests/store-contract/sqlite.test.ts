// Runs the store contract against the SQLite adapter, on a real database file per test: on the
// calling thread (SqliteStore) and on its own thread (ThreadedSqliteStore, Herald's default).

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { setImmediate as nextTask } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { isStoreUnavailable } from '../../src/domain/store-unavailable.js';
import type { IngestBatch } from '../../src/store/port.js';
import { collectGarbage } from '../helpers/gc.js';
import { aClaim, aResult, anAccount, anEndpoint, anIngestBatch, T0 } from '../helpers/store.js';
import { storeContract } from './contract.js';

function onFile<S extends SqliteStore | ThreadedSqliteStore>(
  open: (path: string) => S,
): () => Promise<{ store: S; cleanup: () => Promise<void> }> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const store = open(join(dir, 'herald.db'));
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

const sqlite = onFile((path) => new SqliteStore({ path, synchronous: 'normal' }));
const threaded = onFile((path) => new ThreadedSqliteStore({ path, synchronous: 'normal' }));

storeContract('sqlite', sqlite);
storeContract('sqlite on its own thread', threaded);

describe('the store thread', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  /** A migrated store on its own thread with one account and one endpoint. */
  async function withEndpoint() {
    const opened = await threaded();
    cleanup = opened.cleanup;
    const { store } = opened;
    await store.migrate();
    const account = anAccount();
    await store.insertAccount(account);
    const endpoint = anEndpoint(account.id);
    await store.insertEndpoint(endpoint);
    const spec = { accountId: account.id, endpoints: [endpoint.id], receivedAt: T0 };
    return { store, account, endpoint, spec };
  }

  it('hands SQLite errors back with their codes', async () => {
    const opened = await threaded();
    cleanup = opened.cleanup;
    await opened.store.migrate();
    const account = anAccount();
    await opened.store.insertAccount(account);
    await expect(opened.store.insertAccount(account)).rejects.toMatchObject({
      code: expect.stringMatching(/^SQLITE_CONSTRAINT/),
    });
  });

  it("answers with SQLite's own error when the database cannot be opened", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    // A directory where the database file should be.
    const store = new ThreadedSqliteStore({ path: dir, synchronous: 'normal' });
    cleanup = async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    };
    await expect(store.migrate()).rejects.toMatchObject({
      code: 'SQLITE_CANTOPEN',
      message: 'unable to open database file',
    });
  });

  it('survives its thread stopping: calls fail as "unavailable", then a new thread serves the same data', async () => {
    const opened = await threaded();
    cleanup = opened.cleanup;
    const { store } = opened;
    await store.migrate();
    await store.initSetting('kept', 'yes');
    await (store as unknown as { worker: Worker }).worker.terminate();
    const refused = await store.getSetting('kept').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isStoreUnavailable(refused), String(refused)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await store.getSetting('kept')).toBe('yes');
  });

  it('sends publish calls made together as one, each answered with its own outcomes, in call order', async () => {
    const { store, account, spec } = await withEndpoint();

    const keyed = (requestHash: string, response: string) =>
      anIngestBatch({ ...spec, idempotency: { key: 'k1', requestHash }, response }).batch;
    const first = anIngestBatch(spec);
    const calls = [
      store.ingest([first.batch]),
      store.ingest([keyed('h1', 'first')]),
      store.ingest([keyed('h1', 'second')]),
      // A call of another kind runs after the publish calls made before it, and sees them.
      store.getEvent(account.id, first.events[0]!.id),
      store.ingest([keyed('h2', 'third'), anIngestBatch(spec).batch]),
    ];
    const [one, two, three, event, four] = await Promise.all(calls);
    expect(one).toEqual([{ kind: 'inserted' }]);
    expect(two).toEqual([{ kind: 'inserted' }]);
    expect(three).toEqual([{ kind: 'replayed', response: 'first' }]);
    expect(event).toMatchObject({ id: first.events[0]!.id });
    expect(four).toEqual([{ kind: 'conflict' }, { kind: 'inserted' }]);
  });

  it('keeps nothing of a publish batch while it commits', async () => {
    const { store, endpoint, spec } = await withEndpoint();
    await store.ingest([anIngestBatch({ ...spec, count: 5_000, status: 'held' }).batch]);
    // Keeps the thread busy, so the publish below waits for its commit.
    const busy = store.releaseHeldDeliveries(endpoint.id, T0);
    const { ref, committed } = ((): {
      ref: WeakRef<IngestBatch>;
      committed: Promise<unknown>;
    } => {
      const { batch } = anIngestBatch({ ...spec, count: 100 });
      return { ref: new WeakRef(batch), committed: store.ingest([batch]) };
    })();
    await nextTask();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(await committed).toEqual([{ kind: 'inserted' }]);
    expect(await busy).toBe(5_000);
  });

  it('refuses a publish it cannot encode without harming the others sent with it', async () => {
    const { store, account, spec } = await withEndpoint();
    const before = anIngestBatch(spec);
    const after = anIngestBatch(spec);
    const good = anIngestBatch({ ...spec, count: 2 }).batch;
    // Its second event is missing: encoding fails half-way through the batch.
    const broken = { ...good, events: [good.events[0], null] } as unknown as IngestBatch;
    const calls = [
      store.ingest([before.batch]),
      store.ingest([broken]).then(
        () => 'accepted',
        () => 'refused',
      ),
      store.ingest([after.batch]),
    ];
    expect(await Promise.all(calls)).toEqual([
      [{ kind: 'inserted' }],
      'refused',
      [{ kind: 'inserted' }],
    ]);
    expect(await store.getEvent(account.id, after.events[0]!.id)).toMatchObject({
      payload: after.events[0]!.payload,
    });
  });

  it('settles every publish made before or while it closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const path = join(dir, 'herald.db');
    const store = new ThreadedSqliteStore({ path, synchronous: 'normal' });
    cleanup = async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    };
    await store.migrate();
    const account = anAccount();
    await store.insertAccount(account);
    const spec = { accountId: account.id, endpoints: [], receivedAt: T0 };
    const before = anIngestBatch(spec);
    const late = anIngestBatch(spec);
    const first = store.ingest([before.batch]);
    const closing = store.close();
    // Made after close was called, while the publish before it still commits: it is sent to a
    // thread that closes right after, and must be answered (refused), not left waiting.
    const during = store.ingest([late.batch]).then(
      () => 'committed',
      (error: unknown) => `refused: ${(error as Error).message}`,
    );
    expect(await first).toEqual([{ kind: 'inserted' }]);
    // Answered by the time close has finished (not whenever a timeout notices).
    const afterClose = closing.then(() => new Promise((r) => setImmediate(r, 'still waiting')));
    expect(await Promise.race([during, afterClose])).toBe('refused: The store is closed');
    // What each caller was told is what the file holds.
    const reopened = new SqliteStore({ path, synchronous: 'normal' });
    try {
      expect(await reopened.getEvent(account.id, before.events[0]!.id)).toMatchObject({
        payload: before.events[0]!.payload,
      });
      expect(await reopened.getEvent(account.id, late.events[0]!.id)).toBeUndefined();
    } finally {
      await reopened.close();
    }
  });
});

describe('the embedded store reuses the space retention frees', () => {
  it('holds the next batch of history in the pages freed by the last purge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
    const path = join(dir, 'herald.db');
    const store = new SqliteStore({ path, synchronous: 'normal' });
    try {
      await store.migrate();
      const account = anAccount();
      await store.insertAccount(account);
      const endpoint = anEndpoint(account.id);
      await store.insertEndpoint(endpoint);
      const pages = () => {
        const db = new Database(path, { readonly: true });
        try {
          return {
            total: db.pragma('page_count', { simple: true }) as number,
            free: db.pragma('freelist_count', { simple: true }) as number,
          };
        } finally {
          db.close();
        }
      };
      /** 2,000 events delivered and finished at `at`. */
      const history = async (at: number) => {
        for (let b = 0; b < 4; b++) {
          const built = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: at,
            count: 500,
          });
          await store.ingest([built.batch]);
          const claimed = await store.claimDeliveries(aClaim(at, 'w', { limit: 1000 }));
          await store.recordResults(claimed.map((c) => aResult(c.id, 'w', 'succeeded', at)));
        }
      };
      await history(T0);
      const full = pages();
      for (const table of ['deliveries', 'events'] as const) {
        let after: string | null = null;
        do {
          const step = await store.purge({ table, before: T0 + 60_000, after, limit: 500 });
          after = step.next;
        } while (after !== null);
      }
      const purged = pages();
      expect(purged.total).toBe(full.total);
      expect(purged.free).toBeGreaterThan(full.total / 2);
      await history(T0 + 120_000);
      const again = pages();
      // The same amount of history again fits in the freed pages: the file does not grow.
      expect(again.total).toBeLessThanOrEqual(full.total * 1.05);
      expect(again.free).toBeLessThan(purged.free / 4);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
