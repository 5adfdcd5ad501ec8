// A migrated store for a test, on the adapter of the test project: SQLite (a file, on its own
// thread as Herald runs it), or PostgreSQL in a fresh schema when HERALD_TEST_STORE=postgres.
// Failures are real ones: a trigger in the database refuses what a full disk would.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/port.js';
import { ThreadedSqliteStore } from '../../src/store/sqlite/threaded-store.js';
import { createTestSchema } from './postgres.js';

export interface TestStore {
  readonly store: Store;
  /** See the function of that name. */
  refuseTokenWrites(on: boolean): Promise<void>;
  close(): Promise<void>;
}

const REFUSAL = 'token writes refused (test trigger)';

/** Where a store keeps its data: a SQLite file, or a PostgreSQL connection string (with schema). */
export type StoreLocation = { readonly sqlitePath: string } | { readonly postgresUrl: string };

/**
 * While on, the database refuses every write of a token (a new generation); taking and
 * releasing the refresh lock still work. Stands for a full disk or a lost connection.
 */
export async function refuseTokenWrites(at: StoreLocation, on: boolean): Promise<void> {
  if ('postgresUrl' in at) {
    const client = new pg.Client({ connectionString: at.postgresUrl });
    await client.connect();
    try {
      await client.query(
        on
          ? `CREATE FUNCTION refuse_token_write() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION '${REFUSAL}'; END $$;
             CREATE TRIGGER refuse_token_insert BEFORE INSERT ON oauth_tokens FOR EACH ROW
               WHEN (NEW.generation > 0) EXECUTE FUNCTION refuse_token_write();
             CREATE TRIGGER refuse_token_update BEFORE UPDATE ON oauth_tokens FOR EACH ROW
               WHEN (NEW.generation <> OLD.generation) EXECUTE FUNCTION refuse_token_write();`
          : `DROP TRIGGER refuse_token_insert ON oauth_tokens;
             DROP TRIGGER refuse_token_update ON oauth_tokens;
             DROP FUNCTION refuse_token_write();`,
      );
    } finally {
      await client.end();
    }
    return;
  }
  const db = new Database(at.sqlitePath);
  try {
    db.exec(
      on
        ? `CREATE TRIGGER refuse_token_insert BEFORE INSERT ON oauth_tokens
             WHEN NEW.generation > 0 BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END;
           CREATE TRIGGER refuse_token_update BEFORE UPDATE ON oauth_tokens
             WHEN NEW.generation <> OLD.generation BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END;`
        : `DROP TRIGGER refuse_token_insert; DROP TRIGGER refuse_token_update;`,
    );
  } finally {
    db.close();
  }
}

export async function openTestStore(): Promise<TestStore> {
  if (process.env.HERALD_TEST_STORE === 'postgres') {
    const schema = await createTestSchema();
    const store = new PostgresStore({ connectionString: schema.url, poolSize: 4 });
    await store.migrate();
    return {
      store,
      refuseTokenWrites: (on) => refuseTokenWrites({ postgresUrl: schema.url }, on),
      async close() {
        await store.close();
        await schema.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
  const path = join(dir, 'herald.db');
  const store = new ThreadedSqliteStore({ path, synchronous: 'normal' });
  await store.migrate();
  return {
    store,
    refuseTokenWrites: (on) => refuseTokenWrites({ sqlitePath: path }, on),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
