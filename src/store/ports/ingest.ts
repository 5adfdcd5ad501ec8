// Ingest: published events and the deliveries they fan out to, committed together; reading events.

import type { AccountId, DeliveryId, EndpointId, EventId } from '../../domain/ids.js';
import type { Page } from './common.js';

export interface EventRecord {
  readonly id: EventId;
  readonly accountId: AccountId;
  readonly name: string;
  readonly packageId: string;
  /** The exact JSON body every listener receives. */
  readonly payload: string;
  readonly receivedAt: number;
}

/** A worker's lease on a delivery: its owner, and until when (renewed while it works). */
export interface DeliveryLease {
  readonly owner: string;
  readonly until: number;
}

export interface NewDelivery {
  readonly id: DeliveryId;
  readonly endpointId: EndpointId;
  readonly status: 'pending' | 'held';
  /** Set when the endpoint orders by package: deliveries with the same key go one at a time. */
  readonly orderingKey: string | null;
  /**
   * A pending delivery handed straight to this process's worker (queue/handover.ts): inserted
   * as `delivering` under this lease, as if claimed in the same transaction.
   */
  readonly lease?: DeliveryLease | undefined;
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
  | {
      readonly kind: 'inserted';
      /**
       * Deliveries leased to a worker (`NewDelivery.lease`) that were not inserted: their
       * endpoint was deleted after the publish matched it (in another process, on PostgreSQL).
       * The worker must not send them. Absent when there are none.
       */
      readonly skipped?: readonly DeliveryId[];
    }
  /** The same idempotency key and body were seen before: here is what was answered then. */
  | { readonly kind: 'replayed'; readonly response: string }
  /** The idempotency key was used before for a different body. */
  | { readonly kind: 'conflict' };

export interface EventFilter {
  readonly accountId: AccountId;
  readonly packageId?: string | undefined;
  readonly name?: string | undefined;
  /** Received at or after (ms). */
  readonly since?: number | undefined;
  /** Received before (ms). */
  readonly until?: number | undefined;
}

export interface IngestStore {
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
}
