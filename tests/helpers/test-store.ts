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
  /**
   * While on, the database refuses every write of a token (a new generation); taking and
   * releasing the refresh lock still work. Stands for a full disk or a lost connection.
   */
  refuseTokenWrites(on: boolean): Promise<void>;
  close(): Promise<void>;
}

const REFUSAL = 'token writes refused (test trigger)';

export async function openTestStore(): Promise<TestStore> {
  if (process.env.HERALD_TEST_STORE === 'postgres') {
    const schema = await createTestSchema();
    const store = new PostgresStore({ connectionString: schema.url, poolSize: 4 });
    await store.migrate();
    const sql = async (text: string) => {
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };
    return {
      store,
      refuseTokenWrites: (on) =>
        sql(
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
        ),
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
  const sql = (text: string) => {
    const db = new Database(path);
    try {
      db.exec(text);
    } finally {
      db.close();
    }
  };
  return {
    store,
    async refuseTokenWrites(on) {
      sql(
        on
          ? `CREATE TRIGGER refuse_token_insert BEFORE INSERT ON oauth_tokens
               WHEN NEW.generation > 0 BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END;
             CREATE TRIGGER refuse_token_update BEFORE UPDATE ON oauth_tokens
               WHEN NEW.generation <> OLD.generation BEGIN SELECT RAISE(ABORT, '${REFUSAL}'); END;`
          : `DROP TRIGGER refuse_token_insert; DROP TRIGGER refuse_token_update;`,
      );
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
