// The store port: the only contract between Herald's business code and persistence.
// Adapters (store/sqlite, store/postgres) own SQL, migrations and locking, and declare what they
// can do through `capabilities`; business code branches on capabilities, never on the adapter.
// Secrets cross this boundary only as ciphertext (services/secret-box.ts seals them).

import type { Attempt, Delivery, DeliveryStatus } from '../domain/delivery.js';
import type { AuthStatus, Endpoint, EndpointState, Origin } from '../domain/endpoint.js';
import type { EmailedType, OperationalEvent } from '../domain/operational.js';
import type { AccountId, ApiKeyId, DeliveryId, EndpointId, EventId } from '../domain/ids.js';

export interface StoreCapabilities {
  /** Several processes may lease work from this store at the same time. */
  readonly concurrentWorkers: boolean;
  /** The store can wake idle workers in other processes when work arrives. */
  readonly crossProcessWakeups: boolean;
  /** Only one process uses the store: leases left by a previous run can be reclaimed at once. */
  readonly singleProcess: boolean;
}

export interface AccountRecord {
  readonly id: AccountId;
  readonly name: string;
  readonly contactEmail: string | null;
  readonly createdAt: number;
}

export interface ApiKeyRecord {
  readonly id: ApiKeyId;
  readonly accountId: AccountId;
  readonly name: string;
  /** SHA-256 of the key, hex. The key itself is never stored. */
  readonly hash: string;
  /** The first characters of the key, to recognise it in a list. */
  readonly prefix: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** An endpoint as stored: its secrets only as ciphertext (EndpointSecrets, sealed; null if none). */
export type EndpointRow = Omit<Endpoint, 'secrets'> & { readonly secretsCiphertext: string | null };

export interface EventRecord {
  readonly id: EventId;
  readonly accountId: AccountId;
  readonly name: string;
  readonly packageId: string;
  /** The exact JSON body every listener receives. */
  readonly payload: string;
  readonly receivedAt: number;
}

export interface NewDelivery {
  readonly id: DeliveryId;
  readonly endpointId: EndpointId;
  readonly status: 'pending' | 'held';
  /** Set when the endpoint orders by package: deliveries with the same key go one at a time. */
  readonly orderingKey: string | null;
}

export interface NewEvent {
  readonly event: EventRecord;
  readonly deliveries: readonly NewDelivery[];
  /** The W3C `traceparent` of the publish, when tracing was on: its deliveries continue it. */
  readonly traceParent?: string | null;
}

/** One publish request: all its events commit together, or none do. */
export interface IngestBatch {
  readonly accountId: AccountId;
  readonly idempotency: { readonly key: string; readonly requestHash: string } | null;
  readonly events: readonly NewEvent[];
  /** The response to remember for the idempotency key. */
  readonly response: string;
}

export type IngestOutcome =
  | { readonly kind: 'inserted' }
  /** The same idempotency key and body were seen before: here is what was answered then. */
  | { readonly kind: 'replayed'; readonly response: string }
  /** The idempotency key was used before for a different body. */
  | { readonly kind: 'conflict' };

export type DeliveryRecord = Delivery;

export type AttemptRecord = Attempt;

/** A delivery leased to a worker, with what it needs to send. */
export interface ClaimedDelivery {
  readonly id: DeliveryId;
  readonly eventId: EventId;
  readonly endpointId: EndpointId;
  readonly accountId: AccountId;
  readonly payload: string;
  readonly attempts: number;
  readonly cycleAttempts: number;
  /** The endpoint's version when claimed, so the worker knows whether its copy is current. */
  readonly endpointVersion: number;
  readonly manual: boolean;
  /** The `traceparent` stored with the event (tracing was on when it was published), or null. */
  readonly traceParent: string | null;
}

export interface ClaimQuery {
  readonly now: number;
  readonly limit: number;
  readonly owner: string;
  readonly leaseUntil: number;
  /** Endpoints whose lanes are full in this worker: leave their work for later or for others. */
  readonly skipEndpoints: readonly EndpointId[];
  /**
   * Look past the head of the due queue: when skipped endpoints fill the head, find the other
   * endpoints that have due work (one index seek per endpoint). Costlier; the worker asks for it
   * only now and then, so a slow endpoint's backlog delays the others by at most that interval.
   */
  readonly thorough?: boolean;
}

/** The result of working a claimed delivery; applied only while the lease is still ours. */
export interface DeliveryResult {
  readonly deliveryId: DeliveryId;
  readonly owner: string;
  readonly status: 'succeeded' | 'pending' | 'failed' | 'held';
  readonly nextAttemptAt: number | null;
  readonly attempts: number;
  readonly cycleAttempts: number;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly updatedAt: number;
  /** The attempt log entry, when an attempt was made. */
  readonly attempt: AttemptRecord | null;
  /**
   * The operational event this result raises (`delivery.exhausted`), stored in the same
   * transaction, only when the result itself is (the lease was still ours); null for most.
   */
  readonly raised: OperationalEventRecord | null;
}

export interface DeliveryFilter {
  readonly accountId: AccountId;
  readonly endpointId?: EndpointId | undefined;
  readonly eventId?: EventId | undefined;
  readonly status?: DeliveryStatus | undefined;
  readonly eventName?: string | undefined;
  /** Deliveries of the events with this package id. */
  readonly packageId?: string | undefined;
  /** Created at or after (ms). */
  readonly since?: number | undefined;
  /** Created before (ms). */
  readonly until?: number | undefined;
}

export interface Page<T> {
  readonly data: readonly T[];
  /** Cursor for the next page, or null at the end. */
  readonly next: string | null;
}

export interface QueueStats {
  readonly pending: number;
  readonly due: number;
  readonly delivering: number;
  readonly held: number;
  readonly failed: number;
  readonly oldestDueAt: number | null;
}

/** What an attempt's result counts as in the activity figures (store/activity.ts). */
export type ActivityOutcome = 'succeeded' | 'retried' | 'failed';

/** Attempts that ended in one minute with one outcome. */
export interface MinuteCount {
  /** Start of the minute (ms). */
  readonly minute: number;
  readonly outcome: ActivityOutcome;
  readonly count: number;
}

/** Delivery activity since a time: per-minute outcomes and publish-to-delivered latency. */
export interface DeliveryActivity {
  readonly minutes: readonly MinuteCount[];
  /** Succeeded deliveries by latency bucket (domain/latency.ts). */
  readonly latency: ReadonlyArray<{ readonly bucket: number; readonly count: number }>;
}

/** One endpoint's activity since a time, for its health. */
export interface EndpointActivity {
  readonly endpointId: EndpointId;
  readonly succeeded: number;
  readonly retried: number;
  readonly failed: number;
  /** The latest error seen, and when. */
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

export interface EventFilter {
  readonly accountId: AccountId;
  readonly packageId?: string | undefined;
  readonly name?: string | undefined;
  /** Received at or after (ms). */
  readonly since?: number | undefined;
  /** Received before (ms). */
  readonly until?: number | undefined;
}

export type OperationalEventRecord = OperationalEvent;

/** What an operational event fans out to, committed together with marking it dispatched. */
export interface OperationalDispatch {
  readonly id: OperationalEventRecord['id'];
  readonly at: number;
  /** The event its subscribers receive, with their deliveries; null when no endpoint subscribes. */
  readonly event: NewEvent | null;
  /** The email to queue (or to count into one waiting); null when no email is due. */
  readonly email: AlertEmailRequest | null;
}

export interface AlertEmailRequest {
  readonly accountId: AccountId;
  readonly endpointId: EndpointId;
  readonly type: EmailedType;
  readonly endpointUrl: string;
  readonly endpointDescription: string | null;
  readonly data: Readonly<Record<string, unknown>>;
  readonly at: number;
}

/** An email of the outbox: the facts of the operational events gathered into it. */
export interface AlertEmailRecord {
  readonly seq: number;
  readonly accountId: AccountId;
  readonly endpointId: EndpointId;
  readonly type: EmailedType;
  readonly endpointUrl: string;
  readonly endpointDescription: string | null;
  /** Operational events gathered into this email. */
  readonly count: number;
  /** The data of the latest of them. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly dueAt: number;
  readonly attempts: number;
  readonly lastError: string | null;
}

export type AlertEmailOutcome =
  /** Sent; events gathered into the row since it was claimed wait for the next email. */
  | { readonly kind: 'sent'; readonly at: number }
  /** Not sent; try again at `retryAt`. */
  | {
      readonly kind: 'retry';
      readonly at: number;
      readonly retryAt: number;
      readonly error: string;
    }
  /** Never to be sent (no contact address, given up). */
  | { readonly kind: 'dropped'; readonly at: number; readonly error: string };

/** The tables retention deletes from, in the order a pass visits them. */
export const PURGE_TABLES = [
  'deliveries',
  'events',
  'idempotency_keys',
  'operational_events',
  'alert_emails',
] as const;
export type PurgeTable = (typeof PURGE_TABLES)[number];

/** One small step of retention: at most `limit` rows looked at, after `after` (a cursor). */
export interface PurgeStep {
  readonly table: PurgeTable;
  /** Records older than this (ms) may go; see each table's rule at `purge`. */
  readonly before: number;
  readonly after: string | null;
  readonly limit: number;
}

export interface PurgeResult {
  readonly deleted: number;
  /** Where the next step of this table starts, or null when the table has nothing more to look at. */
  readonly next: string | null;
}

/**
 * The token state of an endpoint's OAuth credential, shared by every worker. Tokens are sealed.
 * `credentialKey` identifies the credential the row derives from: when the endpoint gets new
 * credentials the key changes, and the row's tokens no longer apply.
 */
export interface TokenRecord {
  readonly endpointId: EndpointId;
  readonly credentialKey: string;
  /** Moves on with every stored refresh; a reader that saw generation g knows whether someone refreshed since. */
  readonly generation: number;
  readonly accessTokenCiphertext: string | null;
  readonly refreshTokenCiphertext: string | null;
  /** Hard expiry from `expires_in`, or null when the server sent none (Salesforce). */
  readonly expiresAt: number | null;
  /** When to refresh ahead of expiry, or null. */
  readonly refreshAt: number | null;
  readonly instanceUrl: string | null;
  /** Set when the token endpoint said the credential is dead (never try it again). */
  readonly deadReason: string | null;
  /** Which submission of the credential is dead; submitting credentials again lifts it. */
  readonly deadKey: string | null;
  readonly updatedAt: number;
}

/** An event with its unfinished deliveries, for moving work between stores. */
export interface WorkItem {
  readonly event: EventRecord;
  readonly deliveries: ReadonlyArray<DeliveryRecord & { readonly orderingKey: string | null }>;
}

/** A whole deployment on its way into another store (herald copy-store). */
export interface StoreCopy {
  readonly settings: ReadonlyArray<readonly [key: string, value: string]>;
  readonly accounts: readonly AccountRecord[];
  readonly apiKeys: readonly ApiKeyRecord[];
  readonly endpoints: readonly EndpointRow[];
  readonly tokens: readonly TokenRecord[];
  /** The unfinished work, a page at a time; an empty page is the end. */
  nextWork(): Promise<readonly WorkItem[]>;
}

export interface MigrationReport {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly string[];
}

export interface Store {
  /** Human description for start-up output, e.g. `SQLite at .herald/herald.db`. Never a password. */
  readonly description: string;
  readonly capabilities: StoreCapabilities;

  migrate(): Promise<MigrationReport>;
  close(): Promise<void>;
  /** One trivial round trip to the store (readiness): resolves when the store answers. */
  ping(): Promise<void>;

  // Server-wide settings (for example the check value of the master key).
  getSetting(key: string): Promise<string | undefined>;
  /** Sets the value only if the key has none; returns the value now stored. */
  initSetting(key: string, value: string): Promise<string>;

  // Accounts and API keys.
  insertAccount(account: AccountRecord): Promise<void>;
  getAccount(id: AccountId): Promise<AccountRecord | undefined>;
  /** Writes an account's name and contact email; false when there is no such account. */
  updateAccount(account: Pick<AccountRecord, 'id' | 'name' | 'contactEmail'>): Promise<boolean>;
  listAccounts(): Promise<AccountRecord[]>;
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(accountId: AccountId): Promise<ApiKeyRecord[]>;
  revokeApiKey(accountId: AccountId, id: ApiKeyId, at: number): Promise<boolean>;

  // Endpoints.
  insertEndpoint(row: EndpointRow): Promise<void>;
  /**
   * Writes `row` if the stored version is `row.version - 1`; false when someone changed it first.
   * `raised`: operational events the change raises, stored in the same transaction (see
   * insertOperationalEvent), or not at all when the write does not happen.
   */
  updateEndpoint(row: EndpointRow, raised?: readonly OperationalEventRecord[]): Promise<boolean>;
  getEndpoint(id: EndpointId): Promise<EndpointRow | undefined>;
  findEndpointByOrigin(accountId: AccountId, origin: Origin): Promise<EndpointRow | undefined>;
  listEndpoints(accountId: AccountId): Promise<EndpointRow[]>;
  /** Deletes the endpoint with its deliveries and their attempts. */
  deleteEndpoint(accountId: AccountId, id: EndpointId): Promise<boolean>;
  /** Which of `ids` still exist (the others were deleted, perhaps by another process). */
  existingEndpoints(ids: readonly EndpointId[]): Promise<EndpointId[]>;
  countEndpointsByState(): Promise<
    Array<{ state: EndpointState; authStatus: AuthStatus; count: number }>
  >;

  // Events and deliveries.
  /**
   * Commits each batch atomically (all its events and deliveries, or nothing). Calls made while
   * a commit runs are committed together next (group commit, see group-commit.ts), so callers
   * hand each publish over at once.
   */
  ingest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]>;
  getEvent(accountId: AccountId, id: EventId): Promise<EventRecord | undefined>;
  /** The account's events, newest first, by package id, name and time received. */
  searchEvents(
    filter: EventFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<EventRecord>>;

  /**
   * Leases up to `limit` due deliveries, oldest due first, never of a skipped endpoint, never one
   * whose earlier delivery of the same package to the same endpoint is still outstanding. Looks at
   * a bounded head of the due queue unless `thorough`.
   */
  claimDeliveries(query: ClaimQuery): Promise<ClaimedDelivery[]>;
  renewLeases(owner: string, ids: readonly DeliveryId[], leaseUntil: number): Promise<void>;
  /** Gives leased deliveries back as pending (a worker shutting down before it started them). */
  releaseLeases(owner: string, ids: readonly DeliveryId[], now: number): Promise<void>;
  /** Moves deliveries whose lease ran out back to pending; all leases when `all` (single process). */
  recoverLeases(now: number, all: boolean): Promise<number>;
  /** Applies results (and their attempt rows), and counts them in the delivery activity. */
  recordResults(results: readonly DeliveryResult[]): Promise<void>;
  /** The earliest next_attempt_at of a pending delivery, if any. */
  nextDueAt(): Promise<number | null>;

  /** Moves the endpoint's pending deliveries to held. */
  holdDeliveries(endpointId: EndpointId, now: number): Promise<number>;
  /** Moves the endpoint's held deliveries back to pending, due now. */
  releaseHeldDeliveries(endpointId: EndpointId, now: number): Promise<number>;
  /**
   * Moves held deliveries of endpoints that accept work (enabled, credentials not dead) back to
   * pending, due now: holds stranded by a result written after the endpoint was re-enabled.
   */
  releaseStrandedHolds(now: number): Promise<number>;

  listDeliveries(
    filter: DeliveryFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<DeliveryRecord>>;
  getDelivery(accountId: AccountId, id: DeliveryId): Promise<DeliveryRecord | undefined>;
  listAttempts(deliveryId: DeliveryId): Promise<AttemptRecord[]>;
  /** Makes a delivery due now in a new retry cycle, if its status allows; returns it after. */
  redeliver(accountId: AccountId, id: DeliveryId, now: number): Promise<DeliveryRecord | undefined>;
  /** Makes every failed or held delivery of the endpoint created in [since, until) due now. */
  recover(endpointId: EndpointId, since: number, until: number, now: number): Promise<number>;
  queueStats(now: number): Promise<QueueStats>;
  /** queueStats for one account's deliveries. */
  accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats>;
  /**
   * Attempts recorded since `since` (recordResults keeps counts of them for two days), for one
   * account or, with null, for all: per minute, and latency from the 10-minute slice of `since`.
   */
  deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity>;
  /**
   * Per endpoint of the account with activity since the hour `since` falls in: counts and the
   * latest error.
   */
  endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]>;

  // OAuth tokens (single flight across processes: the lock; persist-before-use: saveToken's CAS).
  getToken(endpointId: EndpointId): Promise<TokenRecord | undefined>;
  /**
   * Writes the record if the stored generation is `record.generation - 1` (or there is no row and
   * `record.generation` is 1); false when someone else wrote first.
   */
  saveToken(record: TokenRecord): Promise<boolean>;
  /** Takes the refresh lock of the endpoint's credential if it is free or expired. */
  acquireTokenLock(
    endpointId: EndpointId,
    owner: string,
    now: number,
    until: number,
  ): Promise<boolean>;
  releaseTokenLock(endpointId: EndpointId, owner: string): Promise<void>;

  /**
   * Calls `listener` when another process made work due (new deliveries, released holds).
   * Returns a function that stops listening. Stores without cross-process wake-ups never call it.
   */
  subscribeWork(listener: () => void): Promise<() => Promise<void>>;

  // Moving a store (herald copy-store): events with unfinished deliveries, in id order.
  exportWork(afterEventId: string | null, limit: number): Promise<WorkItem[]>;
  /** Inserts exported work as is (ids, counters, times); leased deliveries come in as pending. */
  importWork(items: readonly WorkItem[]): Promise<void>;
  /** Writes a token record as is, whatever is stored (for copying a store). */
  importToken(record: TokenRecord): Promise<void>;
  /**
   * Writes a copied deployment into this store in one transaction: all of it, or nothing when
   * anything fails (a write, or reading the next page of work), so a failed copy leaves the store
   * as it was and can run again. Refuses a store that already holds accounts.
   */
  importCopy(copy: StoreCopy): Promise<void>;

  // Operational events: stored when raised, then fanned out (deliveries, email) by the relay.
  /** Stores an operational event, not yet dispatched. */
  insertOperationalEvent(event: OperationalEventRecord): Promise<void>;
  listOperationalEvents(
    accountId: AccountId,
    cursor: string | null,
    limit: number,
  ): Promise<Page<OperationalEventRecord>>;
  /** Operational events not yet dispatched, oldest first. */
  undispatchedOperationalEvents(limit: number): Promise<OperationalEventRecord[]>;
  /**
   * In one transaction: marks the event dispatched and inserts what it fans out to. False (and
   * nothing written) when it was dispatched already, by this process or another.
   */
  dispatchOperationalEvent(dispatch: OperationalDispatch): Promise<boolean>;

  // The email outbox.
  /** Leases up to `limit` due emails (for `leaseUntil`), oldest due first. */
  claimAlertEmails(now: number, leaseUntil: number, limit: number): Promise<AlertEmailRecord[]>;
  /** Records how sending a claimed email ended. */
  finishAlertEmail(
    email: Pick<AlertEmailRecord, 'seq' | 'count'>,
    outcome: AlertEmailOutcome,
  ): Promise<void>;

  /**
   * Retention, one small step (a short transaction) at a time. Deleted when older than `before`:
   * deliveries succeeded or failed (with their attempts) whose last change was before it (pending,
   * delivering and held ones never); events received before it that no delivery refers to;
   * idempotency keys; dispatched operational events; finished outbox emails.
   */
  purge(step: PurgeStep): Promise<PurgeResult>;
}
