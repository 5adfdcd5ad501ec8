// The embedded store's database connection, shared by its parts (endpoints, ingest, queue,
// tokens, operations, copy): the open database, its cache of prepared statements, and the
// relaxed synchronous mode of delivery bookkeeping.

import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { privateDatabaseFiles } from './private-files.js';

export interface SqliteStoreOptions {
  /** Path of the database file, or `:memory:`. */
  readonly path: string;
  /** `full` survives power loss; `normal` survives process crashes only and is faster. */
  readonly synchronous?: 'full' | 'normal';
}

export class SqliteConnection {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Statement>();
  private readonly fullSync: boolean;

  constructor(options: SqliteStoreOptions) {
    privateDatabaseFiles(options.path);
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.fullSync = options.synchronous !== 'normal';
    this.db.pragma(`synchronous = ${this.fullSync ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = OFF');
    this.db.pragma('cache_size = -8192');
    this.db.pragma('temp_store = MEMORY');
  }

  /**
   * Runs delivery bookkeeping (leases, results) without an fsync per commit. Its loss in a power
   * cut only means a redelivery: the lease comes back, the delivery is tried again. Events and
   * configuration stay fully synchronous, and the next such commit syncs these pages too.
   */
  relaxed<T>(work: () => T): T {
    if (!this.fullSync) return work();
    this.sql('PRAGMA synchronous = NORMAL').run();
    try {
      return work();
    } finally {
      this.sql('PRAGMA synchronous = FULL').run();
    }
  }

  /**
   * Prepares a statement once and reuses it. `rowsAsArrays`: its rows are read as arrays of
   * column values (in SELECT order), not objects; a query text is always read the same way.
   */
  sql(text: string, rowsAsArrays = false): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      if (rowsAsArrays) statement.raw(true);
      this.statements.set(text, statement);
    }
    return statement;
  }
}
