// What both store adapters are made of: parts over one shared connection, one part per part of
// the port (ports/), and a store that hands each call to its part. This class does the handing
// over, once for both adapters; an adapter builds its parts and adds its lifecycle (migrate,
// close, ping) and what its own callers need beyond the port. A call crosses one more function
// per call, never per row: batches (claims, results, publishes) go to their part whole.

import type { AuthStatus, EndpointState, Origin } from '../domain/endpoint.js';
import type { AccountId, ApiKeyId, DeliveryId, EndpointId, EventId } from '../domain/ids.js';
import type {
  AccountRecord,
  AccountStore,
  ActivityStore,
  AlertEmailOutcome,
  AlertEmailRecord,
  ApiKeyRecord,
  AttemptRecord,
  ClaimQuery,
  ClaimedDelivery,
  CopyStore,
  DeliveryActivity,
  DeliveryFilter,
  DeliveryRecord,
  DeliveryResult,
  EndpointActivity,
  EndpointRow,
  EndpointStore,
  EventFilter,
  EventRecord,
  IngestBatch,
  IngestOutcome,
  IngestStore,
  MigrationReport,
  OperationalDispatch,
  OperationalEventRecord,
  OperationsStore,
  Page,
  PurgeResult,
  PurgeStep,
  QueueStats,
  QueueStore,
  SettingsStore,
  Store,
  StoreCapabilities,
  StoreCopy,
  TokenRecord,
  TokenStore,
  WorkItem,
} from './port.js';

export abstract class ComposedStore implements Store {
  abstract readonly description: string;
  abstract readonly capabilities: StoreCapabilities;

  /** Settings, accounts, API keys and endpoints. */
  protected abstract readonly endpoints: SettingsStore & AccountStore & EndpointStore;
  protected abstract readonly ingests: IngestStore;
  protected abstract readonly queue: QueueStore;
  /** The console's reads: delivery activity and per-account queue statistics. */
  protected abstract readonly reads: ActivityStore;
  protected abstract readonly tokens: TokenStore;
  protected abstract readonly operations: OperationsStore;
  protected abstract readonly copy: CopyStore;

  abstract migrate(): Promise<MigrationReport>;
  abstract close(): Promise<void>;
  abstract ping(): Promise<void>;

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
