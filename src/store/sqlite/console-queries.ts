// What the console reads from the embedded store, and the delivery activity recordResults counts
// for it (see store/activity.ts): kept apart from the store's work of ingest and delivery.

import type { Statement } from 'better-sqlite3';
import type { AccountId } from '../../domain/ids.js';
import {
  ACTIVITY_KEEP_MS,
  ALL_ACCOUNTS,
  floorTo,
  HOUR_MS,
  MINUTE_MS,
  rollUpActivity,
  SLICE_MS,
  type ResultFacts,
} from '../activity.js';
import type {
  ActivityStore,
  DeliveryActivity,
  EndpointActivity,
  EventFilter,
  EventRecord,
  Page,
  QueueStats,
} from '../port.js';
import {
  eventConditions,
  strOrNull,
  toActivity,
  toEndpointActivity,
  toEvent,
  toQueueStats,
  type Row,
} from '../rows.js';

/** Prepares (once) a statement of the store's database. */
export type Prepare = (text: string, rowsAsArrays?: boolean) => Statement;

/**
 * The condition of the partial indexes of held and failed deliveries. SQLite uses a partial
 * index only when the query repeats its condition, so queries for one parked status add this.
 */
export const PARKED = `status IN ('held', 'failed')`;

export class SqliteConsoleQueries implements ActivityStore {
  /** The minute of activity last pruned up to. */
  private prunedAt = 0;

  constructor(private readonly sql: Prepare) {}

  /** Adds results to the delivery activity; once a minute, forgets activity past its keep. */
  count(facts: readonly ResultFacts[]): void {
    if (facts.length === 0) return;
    const rows = rollUpActivity(facts);
    const minute = this.sql(
      `INSERT INTO activity_minutes (scope, minute, succeeded, retried, failed) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, minute) DO UPDATE SET succeeded = succeeded + excluded.succeeded,
         retried = retried + excluded.retried, failed = failed + excluded.failed`,
    );
    for (const r of rows.minutes) minute.run(r.scope, r.minute, r.succeeded, r.retried, r.failed);
    const latency = this.sql(
      `INSERT INTO activity_latency (scope, slice, bucket, count) VALUES (?, ?, ?, ?)
       ON CONFLICT (scope, slice, bucket) DO UPDATE SET count = count + excluded.count`,
    );
    for (const r of rows.latency) latency.run(r.scope, r.slice, r.bucket, r.count);
    const endpoint = this.sql(
      `INSERT INTO endpoint_activity (endpoint_id, hour, account_id, succeeded, retried, failed,
         last_error, last_error_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (endpoint_id, hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded,
         retried = retried + excluded.retried, failed = failed + excluded.failed,
         last_error = CASE WHEN excluded.last_error_at >= COALESCE(last_error_at, 0)
                           THEN excluded.last_error ELSE last_error END,
         last_error_at = CASE WHEN excluded.last_error_at >= COALESCE(last_error_at, 0)
                              THEN excluded.last_error_at ELSE last_error_at END`,
    );
    for (const r of rows.endpoints) {
      endpoint.run(
        r.endpointId,
        r.hour,
        r.accountId,
        r.succeeded,
        r.retried,
        r.failed,
        r.lastError,
        r.lastErrorAt,
      );
    }
    const latest = Math.max(...rows.minutes.map((r) => r.minute));
    if (latest - this.prunedAt >= MINUTE_MS) {
      const before = latest - ACTIVITY_KEEP_MS;
      this.sql('DELETE FROM activity_minutes WHERE minute < ?').run(before);
      this.sql('DELETE FROM activity_latency WHERE slice < ?').run(before);
      this.sql('DELETE FROM endpoint_activity WHERE hour < ?').run(before);
      this.prunedAt = latest;
    }
  }

  searchEvents(filter: EventFilter, cursor: string | null, limit: number): Page<EventRecord> {
    // Without a package id or a name, the newest events are read along the primary key (ids sort
    // by time); `+account_id` keeps SQLite from reading the account's whole index and sorting.
    const plain = filter.packageId === undefined && filter.name === undefined;
    const { where, params } = eventConditions(
      filter,
      cursor,
      () => '?',
      plain ? '+account_id' : 'account_id',
    );
    const rows = this.sql(
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
    ).all(...params, limit + 1) as Row[];
    const data = rows.slice(0, limit).map(toEvent);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats> {
    // Pending work is counted per endpoint of the account, in the partial index of pending
    // deliveries by endpoint; held and failed in theirs by account; deliveries in flight in
    // theirs (`+account_id`: not by walking every delivery of the account).
    const r = this.sql(
      `WITH eps AS (SELECT id FROM endpoints WHERE account_id = ?)
       SELECT
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM eps)) AS pending,
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'delivering' AND +account_id = ?) AS delivering,
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'held' AND ${PARKED} AND account_id = ?) AS held,
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'failed' AND ${PARKED} AND account_id = ?) AS failed,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'pending'
           AND endpoint_id IN (SELECT id FROM eps) AND next_attempt_at <= ?) AS due,
         (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'
           AND endpoint_id IN (SELECT id FROM eps) AND next_attempt_at <= ?) AS oldest`,
    ).get(accountId, accountId, accountId, accountId, now, now) as Row;
    return toQueueStats(r);
  }

  async deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity> {
    const scope = accountId ?? ALL_ACCOUNTS;
    const minutes = this.sql(
      `SELECT minute, succeeded, retried, failed FROM activity_minutes
        WHERE scope = ? AND minute >= ? ORDER BY minute`,
    ).all(scope, floorTo(since, MINUTE_MS)) as Row[];
    const latency = this.sql(
      `SELECT bucket, SUM(count) AS n FROM activity_latency
        WHERE scope = ? AND slice >= ? GROUP BY bucket ORDER BY bucket`,
    ).all(scope, floorTo(since, SLICE_MS)) as Row[];
    return toActivity(minutes, latency);
  }

  async endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]> {
    const rows = this.sql(
      `SELECT endpoint_id, SUM(succeeded) AS succeeded, SUM(retried) AS retried,
              SUM(failed) AS failed, MAX(last_error_at) AS last_error_at
         FROM endpoint_activity WHERE account_id = ? AND hour >= ?
        GROUP BY endpoint_id ORDER BY endpoint_id`,
    ).all(accountId, floorTo(since, HOUR_MS)) as Row[];
    const lastError = this.sql(
      `SELECT last_error FROM endpoint_activity
        WHERE endpoint_id = ? AND hour >= ? AND last_error_at = ? LIMIT 1`,
    );
    return rows.map((r) =>
      toEndpointActivity(
        r,
        r.last_error_at === null
          ? null
          : strOrNull(
              (lastError.get(r.endpoint_id, floorTo(since, HOUR_MS), r.last_error_at) as Row)
                .last_error,
            ),
      ),
    );
  }
}
