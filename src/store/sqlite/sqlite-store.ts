// The embedded store: one SQLite file in WAL mode, used by one Herald process.
// better-sqlite3 is synchronous, so every method runs to completion inside one tick; batches
// (ingest, results) commit in a single transaction each, which keeps fsyncs per batch, not per row.
// Made of parts over one connection (connection.ts), one per part of the port: endpoints.ts
// (settings, accounts, API keys, endpoints), ingest.ts, queue.ts, tokens.ts, operations.ts,
// copy.ts, and console-queries.ts (the delivery activity); this class opens the database, runs
// the migrations and hands each call to its part.

import type { AuthStatus, EndpointState, Origin } from '../../domain/endpoint.js';
import type { AccountId, ApiKeyId, DeliveryId, EndpointId, EventId } from '../../domain/ids.js';
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

export type { SqliteStoreOptions } from './connection.js';

export const SQLITE_CAPABILITIES: StoreCapabilities = {
  concurrentWorkers: false,
  crossProcessWakeups: false,
  singleProcess: true,
};

export function sqliteDescription(options: SqliteStoreOptions): string {
  return options.path === ':memory:' ? 'SQLite in memory' : `SQLite at ${options.path}`;
}

export class SqliteStore implements Store {
  readonly description: string;
  readonly capabilities: StoreCapabilities = SQLITE_CAPABILITIES;

  private readonly connection: SqliteConnection;
  private readonly db: SqliteConnection['db'];
  /** The console's reads and the delivery activity recordResults counts. */
  private readonly reads: SqliteConsoleQueries;
  private readonly endpoints: SqliteEndpoints;
  private readonly ingests: SqliteIngest;
  private readonly queue: SqliteQueue;
  private readonly tokens: SqliteTokens;
  private readonly operations: SqliteOperations;
  private readonly copy: SqliteCopy;

  constructor(options: SqliteStoreOptions) {
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

  commitIngest(batches: readonly IngestBatch[]): IngestOutcome[] {
    return this.ingests.commitIngest(batches);
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

  claimFlat(q: ClaimQuery): unknown[] {
    return this.queue.claimFlat(q);
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

  async accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats> {
    return this.reads.accountQueueStats(accountId, now);
  }

  async deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity> {
    return this.reads.deliveryActivity(accountId, since);
  }

  async endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]> {
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

  subscribeWork(_listener: () => void): Promise<() => Promise<void>> {
    return this.queue.subscribeWork(_listener);
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

  beginCopy(copy: Omit<StoreCopy, 'nextWork'>): Promise<void> {
    return this.copy.beginCopy(copy);
  }

  endCopy(commit: boolean): Promise<void> {
    return this.copy.endCopy(commit);
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
