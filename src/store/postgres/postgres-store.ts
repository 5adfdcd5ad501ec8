// The shared store: PostgreSQL, used by any number of Herald processes on any number of machines.
// Work is leased with FOR UPDATE SKIP LOCKED in batches; leases expire so a dead process's work
// moves on; LISTEN/NOTIFY wakes idle workers at once; token refreshes take a row lock with an
// expiry and persist with a generation compare-and-set.
// Made of parts over one pool (context.ts), one per part of the port: endpoints.ts (settings,
// accounts, API keys, endpoints), ingest.ts, queue.ts, tokens.ts, operations.ts, copy.ts, and
// console-queries.ts (the delivery activity); this class connects, runs the migrations and hands
// each call to its part.

import { createHash } from 'node:crypto';
import type { AuthStatus, EndpointState, Origin } from '../../domain/endpoint.js';
import type { AccountId, ApiKeyId, DeliveryId, EndpointId, EventId } from '../../domain/ids.js';
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
import type {
  AccountRecord,
  AlertEmailOutcome,
  AlertEmailRecord,
  ApiKeyRecord,
  AttemptRecord,
  ClaimQuery,
  ClaimedDelivery,
  DeliveryActivity,
  DeliveryFilter,
  DeliveryRecord,
  DeliveryResult,
  EndpointActivity,
  EndpointRow,
  EventFilter,
  EventRecord,
  IngestBatch,
  IngestOutcome,
  MigrationReport,
  OperationalDispatch,
  OperationalEventRecord,
  Page,
  PurgeResult,
  PurgeStep,
  QueueStats,
  Store,
  StoreCopy,
  StoreCapabilities,
  TokenRecord,
  WorkItem,
} from '../port.js';

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

export class PostgresStore implements Store {
  readonly description: string;
  readonly capabilities: StoreCapabilities = {
    concurrentWorkers: true,
    crossProcessWakeups: true,
    singleProcess: false,
  };

  private readonly c: PostgresContext;
  /** The console's reads and the delivery activity recordResults counts. */
  private readonly reads: PostgresConsoleQueries;
  private readonly endpoints: PostgresEndpoints;
  private readonly ingests: PostgresIngest;
  private readonly queue: PostgresQueue;
  private readonly tokens: PostgresTokens;
  private readonly operations: PostgresOperations;
  private readonly copy: PostgresCopy;

  constructor(options: PostgresStoreOptions) {
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

  getSetting(key: string): Promise<string | undefined> {
    return this.endpoints.getSetting(key);
  }

  initSetting(key: string, value: string): Promise<string> {
    return this.endpoints.initSetting(key, value);
  }

  insertAccount(a: AccountRecord): Promise<void> {
    return this.endpoints.insertAccount(a);
  }

  updateAccount(a: Pick<AccountRecord, 'id' | 'name' | 'contactEmail'>): Promise<boolean> {
    return this.endpoints.updateAccount(a);
  }

  getAccount(id: AccountId): Promise<AccountRecord | undefined> {
    return this.endpoints.getAccount(id);
  }

  listAccounts(): Promise<AccountRecord[]> {
    return this.endpoints.listAccounts();
  }

  insertApiKey(k: ApiKeyRecord): Promise<void> {
    return this.endpoints.insertApiKey(k);
  }

  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    return this.endpoints.findApiKeyByHash(hash);
  }

  listApiKeys(accountId: AccountId): Promise<ApiKeyRecord[]> {
    return this.endpoints.listApiKeys(accountId);
  }

  revokeApiKey(accountId: AccountId, id: ApiKeyId, at: number): Promise<boolean> {
    return this.endpoints.revokeApiKey(accountId, id, at);
  }

  insertEndpoint(row: EndpointRow): Promise<void> {
    return this.endpoints.insertEndpoint(row);
  }

  updateEndpoint(
    row: EndpointRow,
    raised: readonly OperationalEventRecord[] = [],
  ): Promise<boolean> {
    return this.endpoints.updateEndpoint(row, raised);
  }

  getEndpoint(id: EndpointId): Promise<EndpointRow | undefined> {
    return this.endpoints.getEndpoint(id);
  }

  findEndpointByOrigin(accountId: AccountId, origin: Origin): Promise<EndpointRow | undefined> {
    return this.endpoints.findEndpointByOrigin(accountId, origin);
  }

  listEndpoints(accountId: AccountId): Promise<EndpointRow[]> {
    return this.endpoints.listEndpoints(accountId);
  }

  deleteEndpoint(accountId: AccountId, id: EndpointId): Promise<boolean> {
    return this.endpoints.deleteEndpoint(accountId, id);
  }

  existingEndpoints(ids: readonly EndpointId[]): Promise<EndpointId[]> {
    return this.endpoints.existingEndpoints(ids);
  }

  countEndpointsByState(): Promise<
    Array<{ state: EndpointState; authStatus: AuthStatus; count: number }>
  > {
    return this.endpoints.countEndpointsByState();
  }

  ingest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.ingests.ingest(batches);
  }

  getEvent(accountId: AccountId, id: EventId): Promise<EventRecord | undefined> {
    return this.ingests.getEvent(accountId, id);
  }

  searchEvents(
    filter: EventFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    return this.ingests.searchEvents(filter, cursor, limit);
  }

  claimDeliveries(q: ClaimQuery): Promise<ClaimedDelivery[]> {
    return this.queue.claimDeliveries(q);
  }

  renewLeases(owner: string, ids: readonly DeliveryId[], leaseUntil: number): Promise<void> {
    return this.queue.renewLeases(owner, ids, leaseUntil);
  }

  releaseLeases(owner: string, ids: readonly DeliveryId[], now: number): Promise<void> {
    return this.queue.releaseLeases(owner, ids, now);
  }

  recoverLeases(now: number, all: boolean): Promise<number> {
    return this.queue.recoverLeases(now, all);
  }

  recordResults(results: readonly DeliveryResult[]): Promise<void> {
    return this.queue.recordResults(results);
  }

  nextDueAt(): Promise<number | null> {
    return this.queue.nextDueAt();
  }

  holdDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    return this.queue.holdDeliveries(endpointId, now);
  }

  releaseHeldDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    return this.queue.releaseHeldDeliveries(endpointId, now);
  }

  releaseStrandedHolds(now: number): Promise<number> {
    return this.queue.releaseStrandedHolds(now);
  }

  listDeliveries(
    filter: DeliveryFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<DeliveryRecord>> {
    return this.queue.listDeliveries(filter, cursor, limit);
  }

  getDelivery(accountId: AccountId, id: DeliveryId): Promise<DeliveryRecord | undefined> {
    return this.queue.getDelivery(accountId, id);
  }

  listAttempts(deliveryId: DeliveryId): Promise<AttemptRecord[]> {
    return this.queue.listAttempts(deliveryId);
  }

  redeliver(
    accountId: AccountId,
    id: DeliveryId,
    now: number,
  ): Promise<DeliveryRecord | undefined> {
    return this.queue.redeliver(accountId, id, now);
  }

  recover(endpointId: EndpointId, since: number, until: number, now: number): Promise<number> {
    return this.queue.recover(endpointId, since, until, now);
  }

  queueStats(now: number): Promise<QueueStats> {
    return this.queue.queueStats(now);
  }

  accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats> {
    return this.reads.accountQueueStats(accountId, now);
  }

  deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity> {
    return this.reads.deliveryActivity(accountId, since);
  }

  endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]> {
    return this.reads.endpointActivity(accountId, since);
  }

  getToken(endpointId: EndpointId): Promise<TokenRecord | undefined> {
    return this.tokens.getToken(endpointId);
  }

  saveToken(t: TokenRecord): Promise<boolean> {
    return this.tokens.saveToken(t);
  }

  acquireTokenLock(
    endpointId: EndpointId,
    owner: string,
    now: number,
    until: number,
  ): Promise<boolean> {
    return this.tokens.acquireTokenLock(endpointId, owner, now, until);
  }

  releaseTokenLock(endpointId: EndpointId, owner: string): Promise<void> {
    return this.tokens.releaseTokenLock(endpointId, owner);
  }

  subscribeWork(listener: () => void): Promise<() => Promise<void>> {
    return this.queue.subscribeWork(listener);
  }

  exportWork(afterEventId: string | null, limit: number): Promise<WorkItem[]> {
    return this.copy.exportWork(afterEventId, limit);
  }

  importWork(items: readonly WorkItem[]): Promise<void> {
    return this.copy.importWork(items);
  }

  importToken(t: TokenRecord): Promise<void> {
    return this.copy.importToken(t);
  }

  importCopy(copy: StoreCopy): Promise<void> {
    return this.copy.importCopy(copy);
  }

  insertOperationalEvent(e: OperationalEventRecord): Promise<void> {
    return this.operations.insertOperationalEvent(e);
  }

  listOperationalEvents(
    accountId: AccountId,
    cursor: string | null,
    limit: number,
  ): Promise<Page<OperationalEventRecord>> {
    return this.operations.listOperationalEvents(accountId, cursor, limit);
  }

  undispatchedOperationalEvents(limit: number): Promise<OperationalEventRecord[]> {
    return this.operations.undispatchedOperationalEvents(limit);
  }

  dispatchOperationalEvent(d: OperationalDispatch): Promise<boolean> {
    return this.operations.dispatchOperationalEvent(d);
  }

  claimAlertEmails(now: number, leaseUntil: number, limit: number): Promise<AlertEmailRecord[]> {
    return this.operations.claimAlertEmails(now, leaseUntil, limit);
  }

  finishAlertEmail(
    email: Pick<AlertEmailRecord, 'seq' | 'count'>,
    outcome: AlertEmailOutcome,
  ): Promise<void> {
    return this.operations.finishAlertEmail(email, outcome);
  }

  purge(step: PurgeStep): Promise<PurgeResult> {
    return this.operations.purge(step);
  }
}
