// The delivery queue: leases, results, holds, redelivery, statistics and reading deliveries.

import type { Attempt, Delivery, DeliveryStatus } from '../../domain/delivery.js';
import type { AccountId, DeliveryId, EndpointId, EventId } from '../../domain/ids.js';
import type { Page } from './common.js';
import type { OperationalEventRecord } from './operations.js';

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

/**
 * Endpoints with due work a thorough claim looks at, at most (both adapters): bounds a claim's
 * cost when many endpoints have work and the head of the queue was not enough.
 */
export const CLAIM_DISCOVERY_LIMIT = 512;

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

export interface QueueStats {
  readonly pending: number;
  readonly due: number;
  readonly delivering: number;
  readonly held: number;
  readonly failed: number;
  readonly oldestDueAt: number | null;
}

export interface QueueStore {
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

  /**
   * Calls `listener` when another process made work due (new deliveries, released holds).
   * Returns a function that stops listening. Stores without cross-process wake-ups never call it.
   */
  subscribeWork(listener: () => void): Promise<() => Promise<void>>;
}
