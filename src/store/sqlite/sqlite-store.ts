// The embedded store: one SQLite file in WAL mode, used by one Herald process.
// better-sqlite3 is synchronous, so every method runs to completion inside one tick; batches
// (ingest, results) commit in a single transaction each, which keeps fsyncs per batch, not per row.
// Made of parts over one connection (connection.ts), one per part of the port: endpoints.ts
// (settings, accounts, API keys, endpoints), ingest.ts, queue.ts, tokens.ts, operations.ts,
// copy.ts, and console-queries.ts (the delivery activity). This class opens the database, runs
// the migrations and builds the parts; ComposedStore (store/composed.ts) hands each call to its part.

import { SqliteConnection, type SqliteStoreOptions } from './connection.js';
import { SqliteConsoleQueries } from './console-queries.js';
import { SqliteCopy } from './copy.js';
import { SqliteEndpoints } from './endpoints.js';
import { SqliteIngest } from './ingest.js';
import { loadMigrations } from '../migrations.js';
import { SqliteOperations } from './operations.js';
import { SqliteQueue } from './queue.js';
import { SqliteTokens } from './tokens.js';
import type { Row } from '../rows.js';
import type {
  ClaimQuery,
  IngestBatch,
  IngestOutcome,
  MigrationReport,
  StoreCapabilities,
  StoreCopy,
} from '../port.js';
import { ComposedStore } from '../composed.js';

export type { SqliteStoreOptions } from './connection.js';

export const SQLITE_CAPABILITIES: StoreCapabilities = {
  concurrentWorkers: false,
  crossProcessWakeups: false,
  singleProcess: true,
};

export function sqliteDescription(options: SqliteStoreOptions): string {
  return options.path === ':memory:' ? 'SQLite in memory' : `SQLite at ${options.path}`;
}

export class SqliteStore extends ComposedStore {
  readonly description: string;
  readonly capabilities: StoreCapabilities = SQLITE_CAPABILITIES;

  private readonly connection: SqliteConnection;
  private readonly db: SqliteConnection['db'];
  /** The console's reads and the delivery activity recordResults counts. */
  protected readonly reads: SqliteConsoleQueries;
  protected readonly endpoints: SqliteEndpoints;
  protected readonly ingests: SqliteIngest;
  protected readonly queue: SqliteQueue;
  protected readonly tokens: SqliteTokens;
  protected readonly operations: SqliteOperations;
  protected readonly copy: SqliteCopy;

  constructor(options: SqliteStoreOptions) {
    super();
    this.description = sqliteDescription(options);
    const c = (this.connection = new SqliteConnection(options));
    this.db = c.db;
    this.reads = new SqliteConsoleQueries((text, arrays) => c.sql(text, arrays));
    this.endpoints = new SqliteEndpoints(c);
    this.ingests = new SqliteIngest(c, this.reads);
    this.queue = new SqliteQueue(c, this.reads);
    this.tokens = new SqliteTokens(c);
    this.operations = new SqliteOperations(c, this.ingests);
    this.copy = new SqliteCopy(c, this.description, this.endpoints, this.tokens);
  }

  async migrate(): Promise<MigrationReport> {
    const migrations = loadMigrations(new URL('./migrations/', import.meta.url));
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS herald_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const from = (this.db.prepare('SELECT MAX(version) AS v FROM herald_migrations').get() as Row)
      .v as number | null;
    const current = from ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `The database is at schema version ${current}, newer than this Herald (${latest}); upgrade Herald`,
      );
    }
    const applied: string[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db
          .prepare('INSERT INTO herald_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(migration.version, migration.name, Date.now());
      })();
      applied.push(`${String(migration.version).padStart(4, '0')}_${migration.name}`);
    }
    return { from: current, to: latest, applied };
  }

  async close(): Promise<void> {
    // Publishes made before closing are committed first.
    await this.ingests.close();
    if (this.db.open) this.db.close();
  }

  async ping(): Promise<void> {
    this.connection.sql('SELECT 1').get();
  }

  // What the store thread (store-thread.ts) calls beyond the port.

  /** Commits a group of publish batches now, in one transaction (the groups the main side formed). */
  commitIngest(batches: readonly IngestBatch[]): IngestOutcome[] {
    return this.ingests.commitIngest(batches);
  }

  /** Claims as `claimDeliveries` does, answering in the thread codec's flat layout. */
  claimFlat(q: ClaimQuery): unknown[] {
    return this.queue.claimFlat(q);
  }

  /** Opens the transaction of a copy whose pages come from elsewhere (copy.ts). */
  beginCopy(copy: Omit<StoreCopy, 'nextWork'>): Promise<void> {
    return this.copy.beginCopy(copy);
  }

  /** Commits the copy beginCopy opened, or rolls it back. */
  endCopy(commit: boolean): Promise<void> {
    return this.copy.endCopy(commit);
  }
}
