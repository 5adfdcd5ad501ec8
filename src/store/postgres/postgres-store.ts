// The shared store: PostgreSQL, used by any number of Herald processes on any number of machines.
// Work is leased with FOR UPDATE SKIP LOCKED in batches; leases expire so a dead process's work
// moves on; LISTEN/NOTIFY wakes idle workers at once; token refreshes take a row lock with an
// expiry and persist with a generation compare-and-set.
// Made of parts over one pool (context.ts), one per part of the port: endpoints.ts (settings,
// accounts, API keys, endpoints), ingest.ts, queue.ts, tokens.ts, operations.ts, copy.ts, and
// console-queries.ts (the delivery activity). This class connects, runs the migrations and builds
// the parts; ComposedStore (store/composed.ts) hands each call to its part.

import { createHash } from 'node:crypto';
import { PostgresConsoleQueries } from './console-queries.js';
import { Connections, type ConnectionOptions } from './connections.js';
import { PostgresContext } from './context.js';
import { PostgresCopy } from './copy.js';
import { PostgresEndpoints } from './endpoints.js';
import { PostgresIngest } from './ingest.js';
import { loadMigrations } from '../migrations.js';
import { PostgresOperations } from './operations.js';
import { PostgresQueue } from './queue.js';
import { PostgresTokens } from './tokens.js';
import type { Row } from '../rows.js';
import type { MigrationReport, StoreCapabilities } from '../port.js';
import { ComposedStore } from '../composed.js';

export interface PostgresStoreOptions {
  readonly connectionString: string;
  /** Connections in the pool; claims and results are batched, so a few serve many deliveries. */
  readonly poolSize?: number;
  /** Told of connections lost outside a call (idle in the pool, mid-transaction, LISTEN). */
  readonly onConnectionError?: ConnectionOptions['onConnectionError'];
}

/** A description of the URL without its password. */
function describe(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

export class PostgresStore extends ComposedStore {
  readonly description: string;
  readonly capabilities: StoreCapabilities = {
    concurrentWorkers: true,
    crossProcessWakeups: true,
    singleProcess: false,
  };

  private readonly c: PostgresContext;
  /** The console's reads and the delivery activity recordResults counts. */
  protected readonly reads: PostgresConsoleQueries;
  protected readonly endpoints: PostgresEndpoints;
  protected readonly ingests: PostgresIngest;
  protected readonly queue: PostgresQueue;
  protected readonly tokens: PostgresTokens;
  protected readonly operations: PostgresOperations;
  protected readonly copy: PostgresCopy;

  constructor(options: PostgresStoreOptions) {
    super();
    this.description = describe(options.connectionString);
    const c = (this.c = new PostgresContext(
      new Connections({
        connectionString: options.connectionString,
        poolSize: options.poolSize ?? 10,
        ...(options.onConnectionError ? { onConnectionError: options.onConnectionError } : {}),
      }),
    ));
    this.reads = new PostgresConsoleQueries((text, values) => c.query(text, values));
    this.endpoints = new PostgresEndpoints(c);
    this.ingests = new PostgresIngest(c, this.reads);
    this.queue = new PostgresQueue(c, this.reads);
    this.tokens = new PostgresTokens(c);
    this.operations = new PostgresOperations(c, this.ingests);
    this.copy = new PostgresCopy(c, this.description);
  }

  async ping(): Promise<void> {
    await this.c.query('SELECT 1');
  }

  async migrate(): Promise<MigrationReport> {
    const migrations = loadMigrations(new URL('./migrations/', import.meta.url));
    return this.c.transaction(async (client) => {
      // One migrator at a time across processes.
      await client.query('SELECT pg_advisory_xact_lock(7306154021)');
      await client.query(
        'CREATE TABLE IF NOT EXISTS herald_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const row = (await client.query('SELECT MAX(version) AS v FROM herald_migrations'))
        .rows[0] as Row;
      const from = row.v === null ? 0 : Number(row.v);
      const latest = migrations.at(-1)?.version ?? 0;
      if (from > latest) {
        throw new Error(
          `The database is at schema version ${from}, newer than this Herald (${latest}); upgrade Herald`,
        );
      }
      const applied: string[] = [];
      for (const m of migrations) {
        if (m.version <= from) continue;
        await client.query(m.sql);
        await client.query(
          'INSERT INTO herald_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          [m.version, m.name, Date.now()],
        );
        applied.push(`${String(m.version).padStart(4, '0')}_${m.name}`);
      }
      const schema = (await client.query('SELECT current_schema() AS s')).rows[0] as Row;
      this.c.channel = `herald_work_${createHash('sha256').update(String(schema.s)).digest('hex').slice(0, 12)}`;
      return { from, to: latest, applied };
    });
  }

  async close(): Promise<void> {
    // Publishes made before closing are committed first.
    await this.ingests.close();
    await this.c.connections.end();
  }
}
