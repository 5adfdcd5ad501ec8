// Delivery activity, for the console's charts and endpoint health: how many attempts ended in
// success, a retry or giving up, and how long deliveries took from publish to delivered. Both
// adapters write it in the same transaction as the results it counts, from the rows this module
// adds up, into three small tables whose size does not grow with the number of deliveries:
//
//   activity_minutes  (scope, minute)         outcome counts per minute, for one account's
//                                             charts and, with scope '*', every account's
//   activity_latency  (scope, slice, bucket)  succeeded deliveries per latency bucket
//                                             (domain/latency.ts), per 10-minute slice
//   endpoint_activity (endpoint, hour)        outcome counts and the latest error per endpoint
//                                             and hour, for its health over the last day
//
// A day of it is at most 1,440 minute rows and a few thousand latency rows per account, and 24
// rows per endpoint, however many deliveries there were.

import type { DeliveryStatus } from '../domain/delivery.js';
import type { AccountId, EndpointId } from '../domain/ids.js';
import { latencyBucket } from '../domain/latency.js';
import type { ActivityOutcome } from './port.js';

export const MINUTE_MS = 60_000;
export const SLICE_MS = 10 * MINUTE_MS;
export const HOUR_MS = 60 * MINUTE_MS;
/** How long activity is kept: the console shows a day of it. */
export const ACTIVITY_KEEP_MS = 48 * HOUR_MS;
/** The scope of the rows that count every account. */
export const ALL_ACCOUNTS = '*';

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

export interface Counts {
  succeeded: number;
  retried: number;
  failed: number;
}

export interface MinuteRow extends Counts {
  readonly scope: string;
  readonly minute: number;
}

export interface LatencyRow {
  readonly scope: string;
  readonly slice: number;
  readonly bucket: number;
  count: number;
}

export interface EndpointHourRow extends Counts {
  readonly endpointId: EndpointId;
  readonly hour: number;
  readonly accountId: AccountId;
  /** The latest error among the counted results, and when it was recorded. */
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface ActivityRows {
  readonly minutes: MinuteRow[];
  readonly latency: LatencyRow[];
  readonly endpoints: EndpointHourRow[];
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

/** The start of the `step`-long period that `ms` falls in. */
export const floorTo = (ms: number, step: number): number => Math.floor(ms / step) * step;
const byKey = <T>(rows: Map<string, T>): T[] =>
  [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);

/**
 * Adds up results into the rows to add to each table, each list in key order: adapters that
 * upsert from several processes take the rows' locks in the same order, so they never deadlock.
 */
export function rollUpActivity(results: readonly ResultFacts[]): ActivityRows {
  const minutes = new Map<string, MinuteRow>();
  const latency = new Map<string, LatencyRow>();
  const endpoints = new Map<string, EndpointHourRow>();
  for (const r of results) {
    const outcome = activityOutcome(r.status);
    const minute = floorTo(r.updatedAt, MINUTE_MS);
    for (const scope of [r.accountId, ALL_ACCOUNTS]) {
      const key = `${scope}\u0000${minute}`;
      const row = minutes.get(key) ?? { scope, minute, succeeded: 0, retried: 0, failed: 0 };
      row[outcome]++;
      minutes.set(key, row);
      if (outcome === 'succeeded') {
        const slice = floorTo(r.updatedAt, SLICE_MS);
        const bucket = latencyBucket(r.updatedAt - r.createdAt);
        const lkey = `${scope}\u0000${slice}\u0000${bucket}`;
        const lrow = latency.get(lkey) ?? { scope, slice, bucket, count: 0 };
        lrow.count++;
        latency.set(lkey, lrow);
      }
    }
    const hour = floorTo(r.updatedAt, HOUR_MS);
    const ekey = `${r.endpointId}\u0000${hour}`;
    const erow = endpoints.get(ekey) ?? {
      endpointId: r.endpointId,
      hour,
      accountId: r.accountId,
      succeeded: 0,
      retried: 0,
      failed: 0,
      lastError: null,
      lastErrorAt: null,
    };
    erow[outcome]++;
    if (outcome !== 'succeeded' && r.lastError !== null && r.updatedAt >= (erow.lastErrorAt ?? 0)) {
      erow.lastError = r.lastError;
      erow.lastErrorAt = r.updatedAt;
    }
    endpoints.set(ekey, erow);
  }
  return { minutes: byKey(minutes), latency: byKey(latency), endpoints: byKey(endpoints) };
}
