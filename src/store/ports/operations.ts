// Operations: operational events (stored when raised, then fanned out to deliveries and email
// by the relay), the email outbox, and retention.

import type { EmailedType, OperationalEvent } from '../../domain/operational.js';
import type { AccountId, EndpointId } from '../../domain/ids.js';
import type { Page } from './common.js';
import type { NewEvent } from './ingest.js';

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

export interface OperationsStore {
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
