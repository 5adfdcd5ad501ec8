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

/** The rows one run of results with the same account, endpoint and minute adds to. */
interface Context {
  readonly accountId: AccountId;
  readonly endpointId: EndpointId;
  readonly minute: number;
  /** The minute's rows of the account and of every account. */
  readonly account: MinuteRow;
  readonly all: MinuteRow;
  readonly endpoint: EndpointHourRow;
  /** Latency rows by bucket: the account's, then every account's. */
  readonly buckets: Map<number, readonly [LatencyRow, LatencyRow]>;
}

function minuteRow(rows: Map<string, MinuteRow>, scope: string, minute: number): MinuteRow {
  const key = `${scope}\u0000${minute}`;
  let row = rows.get(key);
  if (!row) rows.set(key, (row = { scope, minute, succeeded: 0, retried: 0, failed: 0 }));
  return row;
}

function latencyRow(
  rows: Map<string, LatencyRow>,
  scope: string,
  slice: number,
  bucket: number,
): LatencyRow {
  const key = `${scope}\u0000${slice}\u0000${bucket}`;
  let row = rows.get(key);
  if (!row) rows.set(key, (row = { scope, slice, bucket, count: 0 }));
  return row;
}

function endpointRow(
  rows: Map<string, EndpointHourRow>,
  r: ResultFacts,
  hour: number,
): EndpointHourRow {
  const key = `${r.endpointId}\u0000${hour}`;
  let row = rows.get(key);
  if (!row) {
    row = {
      endpointId: r.endpointId,
      hour,
      accountId: r.accountId,
      succeeded: 0,
      retried: 0,
      failed: 0,
      lastError: null,
      lastErrorAt: null,
    };
    rows.set(key, row);
  }
  return row;
}

/**
 * Adds up results into the rows to add to each table, each list in key order: adapters that
 * upsert from several processes take the rows' locks in the same order, so they never deadlock.
 * Results come in runs of the same account, endpoint and minute: the rows of the run are kept at
 * hand, and keys are built only when it changes (1.3 µs a result when each built its own five).
 */
export function rollUpActivity(results: readonly ResultFacts[]): ActivityRows {
  const minutes = new Map<string, MinuteRow>();
  const latency = new Map<string, LatencyRow>();
  const endpoints = new Map<string, EndpointHourRow>();
  let run: Context | null = null;
  for (const r of results) {
    const outcome = activityOutcome(r.status);
    // The minute decides the 10-minute slice and the hour too: both are whole minutes.
    const minute = floorTo(r.updatedAt, MINUTE_MS);
    if (
      run === null ||
      run.minute !== minute ||
      run.accountId !== r.accountId ||
      run.endpointId !== r.endpointId
    ) {
      run = {
        accountId: r.accountId,
        endpointId: r.endpointId,
        minute,
        account: minuteRow(minutes, r.accountId, minute),
        all: minuteRow(minutes, ALL_ACCOUNTS, minute),
        endpoint: endpointRow(endpoints, r, floorTo(minute, HOUR_MS)),
        buckets: new Map(),
      };
    }
    run.account[outcome]++;
    run.all[outcome]++;
    if (outcome === 'succeeded') {
      const bucket = latencyBucket(r.updatedAt - r.createdAt);
      let rows = run.buckets.get(bucket);
      if (!rows) {
        const slice = floorTo(minute, SLICE_MS);
        rows = [
          latencyRow(latency, r.accountId, slice, bucket),
          latencyRow(latency, ALL_ACCOUNTS, slice, bucket),
        ];
        run.buckets.set(bucket, rows);
      }
      rows[0].count++;
      rows[1].count++;
    }
    const erow = run.endpoint;
    erow[outcome]++;
    if (outcome !== 'succeeded' && r.lastError !== null && r.updatedAt >= (erow.lastErrorAt ?? 0)) {
      erow.lastError = r.lastError;
      erow.lastErrorAt = r.updatedAt;
    }
  }
  return { minutes: byKey(minutes), latency: byKey(latency), endpoints: byKey(endpoints) };
}
