// Delivery activity kept per endpoint and minute, for the console's charts and endpoint health:
// how many attempts ended in success, in a retry and in giving up, and how long deliveries took
// from publish to delivered (as latency bucket counts). Both adapters write it in the same
// transaction as the results it counts, from rows this module rolls up, so reading a day of it
// costs a few thousand rows however many deliveries there were.

import type { DeliveryStatus } from '../domain/delivery.js';
import type { AccountId, EndpointId } from '../domain/ids.js';
import { latencyBucket } from '../domain/latency.js';
import type { ActivityOutcome } from './port.js';

export const MINUTE_MS = 60_000;
/** How long activity is kept: the console shows a day of it. */
export const ACTIVITY_KEEP_MS = 48 * 3600_000;

/** One recorded result, as the adapter read it back from the delivery it updated. */
export interface ResultFacts {
  readonly endpointId: EndpointId;
  readonly accountId: AccountId;
  /** When the delivery was created (its event's publish). */
  readonly createdAt: number;
  readonly status: DeliveryStatus;
  readonly updatedAt: number;
  readonly lastError: string | null;
}

/** One row of the activity table: a count to add to what is stored under its key. */
export interface ActivityRow {
  readonly endpointId: EndpointId;
  readonly minute: number;
  readonly outcome: ActivityOutcome;
  /** Latency bucket of succeeded deliveries; 0 for the other outcomes. */
  readonly bucket: number;
  readonly accountId: AccountId;
  readonly count: number;
  /** The latest error among the counted results (retried and failed only). */
  readonly lastError: string | null;
}

/** What an attempt's result counts as: delivered, tried again later, or given up. */
export function activityOutcome(status: DeliveryStatus): ActivityOutcome {
  switch (status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'pending':
    case 'held':
    case 'delivering':
      return 'retried';
  }
}

/**
 * Adds up results by (endpoint, minute, outcome, bucket), in key order: adapters that upsert
 * from several processes take the rows' locks in the same order, so they never deadlock.
 */
export function rollUpActivity(results: readonly ResultFacts[]): ActivityRow[] {
  const rows = new Map<string, ActivityRow & { at: number }>();
  for (const r of results) {
    const outcome = activityOutcome(r.status);
    const minute = Math.floor(r.updatedAt / MINUTE_MS) * MINUTE_MS;
    const bucket = outcome === 'succeeded' ? latencyBucket(r.updatedAt - r.createdAt) : 0;
    const key = `${r.endpointId}\u0000${minute}\u0000${outcome}\u0000${bucket}`;
    const row = rows.get(key);
    const error = outcome === 'succeeded' ? null : r.lastError;
    if (!row) {
      rows.set(key, {
        endpointId: r.endpointId,
        minute,
        outcome,
        bucket,
        accountId: r.accountId,
        count: 1,
        lastError: error,
        at: r.updatedAt,
      });
    } else {
      const later = r.updatedAt >= row.at && error !== null;
      rows.set(key, {
        ...row,
        count: row.count + 1,
        lastError: later ? error : row.lastError,
        at: later ? r.updatedAt : row.at,
      });
    }
  }
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { at: _at, ...row }]) => row);
}
