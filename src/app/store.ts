// Picks the store adapter: the only place besides the CLI's store commands (which call this)
// that names one.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/settings.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/port.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from '../store/sqlite/threaded-store.js';

/** Opens the configured store: PostgreSQL for a postgres:// URL, otherwise an SQLite file. */
export function openStore(config: Config, logger?: Logger): Store {
  const target = config.databaseUrl;
  if (target && /^postgres(ql)?:\/\//i.test(target)) {
    return new PostgresStore({
      connectionString: target,
      poolSize: config.databasePoolSize,
      // Each lost connection once; the calls it failed are answered or retried by their callers.
      onConnectionError: (error, where) =>
        logger?.warn({ err: error, where }, 'lost a connection to PostgreSQL'),
    });
  }
  const path = target ?? join(config.dataDir, 'herald.db');
  if (path !== ':memory:') mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  const options = { path, synchronous: config.sqliteSynchronous };
  return config.sqliteThread === 'on' ? new ThreadedSqliteStore(options) : new SqliteStore(options);
}
