// What the console reads from PostgreSQL, and the delivery activity recordResults counts for it
// (see store/activity.ts): kept apart from the store's work of ingest and delivery.

import type pg from 'pg';
import type { AccountId, EndpointId } from '../../domain/ids.js';
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
  DeliveryResult,
  EndpointActivity,
  EventFilter,
  EventRecord,
  Page,
  QueueStats,
} from '../port.js';
import {
  eventConditions,
  num,
  str,
  strOrNull,
  toActivity,
  toEndpointActivity,
  toEvent,
  toQueueStats,
  type Row,
} from '../rows.js';

/** Runs a statement on the pool. */
export type Query = (text: string, values?: unknown[]) => Promise<Row[]>;

export class PostgresConsoleQueries implements ActivityStore {
  /** The minute of activity last pruned up to, by this process. */
  private prunedAt = 0;

  constructor(private readonly query: Query) {}

  /**
   * Adds the results whose delivery was updated (and that made an attempt) to the delivery
   * activity, each table's rows in key order so that processes upserting the same rows never
   * deadlock; once a minute per process, forgets activity past its keep.
   */
  async count(
    client: pg.PoolClient,
    results: readonly DeliveryResult[],
    updated: readonly Row[],
  ): Promise<void> {
    const byId = new Map(updated.map((r) => [str(r.id), r]));
    const facts: ResultFacts[] = [];
    for (const r of results) {
      const row = byId.get(r.deliveryId);
      if (!row || !r.attempt) continue;
      facts.push({
        endpointId: str(row.endpoint_id) as EndpointId,
        accountId: str(row.account_id) as AccountId,
        createdAt: num(row.created_at),
        status: r.status,
        updatedAt: r.updatedAt,
        lastError: r.lastError,
      });
    }
    if (facts.length === 0) return;
    const rows = rollUpActivity(facts);
    await client.query(
      `INSERT INTO activity_minutes (scope, minute, succeeded, retried, failed)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
       ON CONFLICT (scope, minute) DO UPDATE
         SET succeeded = activity_minutes.succeeded + EXCLUDED.succeeded,
             retried = activity_minutes.retried + EXCLUDED.retried,
             failed = activity_minutes.failed + EXCLUDED.failed`,
      [
        rows.minutes.map((r) => r.scope),
        rows.minutes.map((r) => r.minute),
        rows.minutes.map((r) => r.succeeded),
        rows.minutes.map((r) => r.retried),
        rows.minutes.map((r) => r.failed),
      ],
    );
    if (rows.latency.length > 0) {
      await client.query(
        `INSERT INTO activity_latency (scope, slice, bucket, count)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::bigint[])
         ON CONFLICT (scope, slice, bucket) DO UPDATE
           SET count = activity_latency.count + EXCLUDED.count`,
        [
          rows.latency.map((r) => r.scope),
          rows.latency.map((r) => r.slice),
          rows.latency.map((r) => r.bucket),
          rows.latency.map((r) => r.count),
        ],
      );
    }
    await client.query(
      `INSERT INTO endpoint_activity (endpoint_id, hour, account_id, succeeded, retried, failed,
         last_error, last_error_at)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[],
         $6::bigint[], $7::text[], $8::bigint[])
       ON CONFLICT (endpoint_id, hour) DO UPDATE
         SET succeeded = endpoint_activity.succeeded + EXCLUDED.succeeded,
             retried = endpoint_activity.retried + EXCLUDED.retried,
             failed = endpoint_activity.failed + EXCLUDED.failed,
             last_error = CASE WHEN EXCLUDED.last_error_at >= COALESCE(endpoint_activity.last_error_at, 0)
                               THEN EXCLUDED.last_error ELSE endpoint_activity.last_error END,
             last_error_at = CASE WHEN EXCLUDED.last_error_at >= COALESCE(endpoint_activity.last_error_at, 0)
                                  THEN EXCLUDED.last_error_at ELSE endpoint_activity.last_error_at END`,
      [
        rows.endpoints.map((r) => r.endpointId),
        rows.endpoints.map((r) => r.hour),
        rows.endpoints.map((r) => r.accountId),
        rows.endpoints.map((r) => r.succeeded),
        rows.endpoints.map((r) => r.retried),
        rows.endpoints.map((r) => r.failed),
        rows.endpoints.map((r) => r.lastError),
        rows.endpoints.map((r) => r.lastErrorAt),
      ],
    );
    const latest = Math.max(...rows.minutes.map((r) => r.minute));
    if (latest - this.prunedAt >= MINUTE_MS) {
      this.prunedAt = latest;
      const before = latest - ACTIVITY_KEEP_MS;
      await client.query('DELETE FROM activity_minutes WHERE minute < $1', [before]);
      await client.query('DELETE FROM activity_latency WHERE slice < $1', [before]);
      await client.query('DELETE FROM endpoint_activity WHERE hour < $1', [before]);
    }
  }

  async searchEvents(
    filter: EventFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    const { where, params } = eventConditions(filter, cursor, (n) => `$${n}`);
    params.push(limit + 1);
    const rows = await this.query(
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit).map(toEvent);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats> {
    // Pending work is counted per endpoint of the account, in the partial index of pending
    // deliveries by endpoint; held and failed in theirs by account.
    const rows = await this.query(
      `WITH eps AS (SELECT id FROM endpoints WHERE account_id = $1)
       SELECT
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM eps))::int AS pending,
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'delivering' AND account_id = $1)::int AS delivering,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'held' AND account_id = $1)::int AS held,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'failed' AND account_id = $1)::int AS failed,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'pending'
           AND endpoint_id IN (SELECT id FROM eps) AND next_attempt_at <= $2)::int AS due,
         (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'
           AND endpoint_id IN (SELECT id FROM eps) AND next_attempt_at <= $2) AS oldest`,
      [accountId, now],
    );
    return toQueueStats(rows[0]!);
  }

  async deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity> {
    const scope = accountId ?? ALL_ACCOUNTS;
    const [minutes, latency] = await Promise.all([
      this.query(
        `SELECT minute, succeeded, retried, failed FROM activity_minutes
          WHERE scope = $1 AND minute >= $2 ORDER BY minute`,
        [scope, floorTo(since, MINUTE_MS)],
      ),
      this.query(
        `SELECT bucket, SUM(count) AS n FROM activity_latency
          WHERE scope = $1 AND slice >= $2 GROUP BY bucket ORDER BY bucket`,
        [scope, floorTo(since, SLICE_MS)],
      ),
    ]);
    return toActivity(minutes, latency);
  }

  async endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]> {
    const rows = await this.query(
      `SELECT endpoint_id, SUM(succeeded) AS succeeded, SUM(retried) AS retried,
              SUM(failed) AS failed, MAX(last_error_at) AS last_error_at,
              (ARRAY_AGG(last_error ORDER BY last_error_at DESC NULLS LAST))[1] AS last_error
         FROM endpoint_activity WHERE account_id = $1 AND hour >= $2
        GROUP BY endpoint_id ORDER BY endpoint_id`,
      [accountId, floorTo(since, HOUR_MS)],
    );
    return rows.map((r) => toEndpointActivity(r, strOrNull(r.last_error)));
  }
}
