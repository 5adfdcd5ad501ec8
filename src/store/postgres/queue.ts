// PostgreSQL's delivery queue (QueueStore): claims (FOR UPDATE SKIP LOCKED), leases, results,
// holds, redelivery, statistics, reading deliveries, and the wake-ups of LISTEN/NOTIFY.

import type { AccountId, DeliveryId, EndpointId } from '../../domain/ids.js';
import type { PostgresContext } from './context.js';
import type { PostgresConsoleQueries } from './console-queries.js';
import { insertOperationalEvents } from './operations.js';
import { D_STATUS_IN, P_STATUS_IN, STATUS_IN } from '../sql-status.js';
import {
  ACCEPTING_ENDPOINTS,
  num,
  numOrNull,
  str,
  toAttempt,
  toClaimed,
  toDelivery,
  toQueueStats,
  type Row,
} from '../rows.js';
import type {
  AttemptRecord,
  ClaimQuery,
  ClaimedDelivery,
  DeliveryFilter,
  DeliveryRecord,
  DeliveryResult,
  Page,
  QueueStats,
  QueueStore,
} from '../port.js';
import { CLAIM_DISCOVERY_LIMIT } from '../ports/queue.js';

export class PostgresQueue implements QueueStore {
  constructor(
    private readonly c: PostgresContext,
    /** Counts the delivery activity of the results recorded. */
    private readonly reads: PostgresConsoleQueries,
  ) {}

  async claimDeliveries(q: ClaimQuery): Promise<ClaimedDelivery[]> {
    const claimable = `NOT (d.endpoint_id = ANY($2::text[]))
      AND (d.ordering_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM deliveries p
             WHERE p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key
               AND p.seq < d.seq AND ${P_STATUS_IN.outstanding}))`;
    const lease = (picked: string) => `
       UPDATE deliveries d
          SET status = 'delivering', lease_owner = $4, lease_expires_at = $5, updated_at = $1
         FROM ${picked} c, events e, endpoints ep
        WHERE d.seq = c.seq AND e.id = d.event_id AND ep.id = d.endpoint_id
       RETURNING d.id, d.event_id, d.endpoint_id, d.account_id, d.attempts, d.cycle_attempts, d.manual,
                 d.next_attempt_at, e.payload, ep.version, e.trace_parent`;
    // The head of the due queue, bounded: a skipped endpoint's backlog is never walked whole.
    let rows = await this.c.query(
      `WITH head AS (
         SELECT seq FROM deliveries WHERE ${STATUS_IN.claimable} AND next_attempt_at <= $1
          ORDER BY next_attempt_at LIMIT $3 * 4
       ), candidates AS (
         SELECT d.seq FROM head JOIN deliveries d ON d.seq = head.seq
          WHERE ${D_STATUS_IN.claimable} AND ${claimable}
          ORDER BY d.next_attempt_at
          LIMIT $3
          FOR UPDATE OF d SKIP LOCKED
       )
       ${lease('candidates')}`,
      [q.now, q.skipEndpoints, q.limit, q.owner, q.leaseUntil],
    );
    if (rows.length < q.limit && q.thorough) {
      // Endpoints with pending work by a loose index scan (one seek each), then a fair share of
      // each one's due deliveries.
      const more = await this.c.query(
        `WITH RECURSIVE eps(id) AS (
           SELECT (SELECT MIN(endpoint_id) FROM deliveries WHERE ${STATUS_IN.claimable})
           UNION ALL
           SELECT (SELECT MIN(endpoint_id) FROM deliveries WHERE ${STATUS_IN.claimable} AND endpoint_id > eps.id)
             FROM eps WHERE eps.id IS NOT NULL
         ), others AS (
           SELECT id FROM eps WHERE id IS NOT NULL AND NOT (id = ANY($2::text[])) LIMIT ${CLAIM_DISCOVERY_LIMIT}
         ), candidates AS (
           SELECT picked.seq FROM others
           CROSS JOIN LATERAL (
             SELECT d.seq FROM deliveries d
              WHERE ${D_STATUS_IN.claimable} AND d.endpoint_id = others.id AND d.next_attempt_at <= $1 AND ${claimable}
              ORDER BY d.next_attempt_at
              LIMIT $6
              FOR UPDATE OF d SKIP LOCKED
           ) picked
           LIMIT $3
         )
         ${lease('candidates')}`,
        [
          q.now,
          q.skipEndpoints,
          q.limit - rows.length,
          q.owner,
          q.leaseUntil,
          Math.max(1, Math.ceil((q.limit - rows.length) / 8)),
        ],
      );
      rows = rows.concat(more);
    }
    rows.sort((a, b) => num(a.next_attempt_at) - num(b.next_attempt_at));
    return rows.map(toClaimed);
  }

  async renewLeases(owner: string, ids: readonly DeliveryId[], leaseUntil: number): Promise<void> {
    if (ids.length === 0) return;
    await this.c.query(
      `UPDATE deliveries SET lease_expires_at = $1 WHERE id = ANY($2::text[]) AND lease_owner = $3 AND ${STATUS_IN.leased}`,
      [leaseUntil, ids, owner],
    );
  }

  async releaseLeases(owner: string, ids: readonly DeliveryId[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.c.query(
      `UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
        WHERE id = ANY($2::text[]) AND lease_owner = $3 AND ${STATUS_IN.leased}`,
      [now, ids, owner],
    );
    await this.c.notify();
  }

  async recoverLeases(now: number, all: boolean): Promise<number> {
    const result = await this.c.connections.query(
      `UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
              next_attempt_at = LEAST(COALESCE(next_attempt_at, $1), $1), updated_at = $1
        WHERE ${STATUS_IN.leased} AND ($2 OR lease_expires_at < $1)`,
      [now, all],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.c.notify();
    return count;
  }

  async recordResults(results: readonly DeliveryResult[]): Promise<void> {
    if (results.length === 0) return;
    const attempts = results.map((r) => r.attempt).filter((a): a is AttemptRecord => a !== null);
    // Results that raise an operational event (exhausted) raise it only if their row applied.
    const raising = results.some((r) => r.raised !== null);
    await this.c.transaction(async (client) => {
      const updated = await client.query(
        `UPDATE deliveries d SET status = r.status, next_attempt_at = r.next, attempts = r.attempts,
                cycle_attempts = r.cycle, last_status_code = r.code, last_error = r.err, updated_at = r.updated,
                manual = FALSE, lease_owner = NULL, lease_expires_at = NULL
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::int[], $8::text[], $9::bigint[])
                AS r(id, owner, status, next, attempts, cycle, code, err, updated)
          WHERE d.id = r.id AND d.lease_owner = r.owner AND ${D_STATUS_IN.leased}
          RETURNING d.id, d.endpoint_id, d.account_id, d.created_at`,
        [
          results.map((r) => r.deliveryId),
          results.map((r) => r.owner),
          results.map((r) => r.status),
          results.map((r) => r.nextAttemptAt),
          results.map((r) => r.attempts),
          results.map((r) => r.cycleAttempts),
          results.map((r) => r.lastStatusCode),
          results.map((r) => r.lastError),
          results.map((r) => r.updatedAt),
        ],
      );
      // A hold decided while the endpoint refused work, written after it was fixed (its release
      // ran first, or waits on these rows and runs next), goes back to pending at once instead
      // of waiting for the stranded-hold sweep.
      const held = results.filter((r) => r.status === 'held');
      if (held.length > 0) {
        await client.query(
          `UPDATE deliveries d SET status = 'pending', next_attempt_at = r.at, updated_at = r.at
             FROM unnest($1::text[], $2::bigint[]) AS r(id, at)
            WHERE d.id = r.id AND ${D_STATUS_IN.releasable} AND d.endpoint_id IN (${ACCEPTING_ENDPOINTS})`,
          [held.map((r) => r.deliveryId), held.map((r) => r.updatedAt)],
        );
      }
      if (raising) {
        const applied = new Set(updated.rows.map((r) => str((r as Row).id)));
        await insertOperationalEvents(
          client,
          results.flatMap((r) => (r.raised && applied.has(r.deliveryId) ? [r.raised] : [])),
        );
      }
      if (attempts.length > 0) {
        await client.query(
          `INSERT INTO attempts (id, delivery_id, number, trigger, started_at, duration_ms, status_code, outcome, error, response_body)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::int[], $7::int[], $8::text[], $9::text[], $10::text[])`,
          [
            attempts.map((a) => a.id),
            attempts.map((a) => a.deliveryId),
            attempts.map((a) => a.number),
            attempts.map((a) => a.trigger),
            attempts.map((a) => a.startedAt),
            attempts.map((a) => a.durationMs),
            attempts.map((a) => a.statusCode),
            attempts.map((a) => a.outcome),
            attempts.map((a) => a.error),
            attempts.map((a) => a.responseBody),
          ],
        );
      }
      await this.reads.count(client, results, updated.rows as Row[]);
    });
  }

  async nextDueAt(): Promise<number | null> {
    const rows = await this.c.query(
      `SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'pending'`,
    );
    return numOrNull(rows[0]!.t);
  }

  async holdDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    const result = await this.c.connections.query(
      `UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = $1 WHERE endpoint_id = $2 AND ${STATUS_IN.holdable}`,
      [now, endpointId],
    );
    return result.rowCount ?? 0;
  }

  async releaseHeldDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    const result = await this.c.connections.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 WHERE endpoint_id = $2 AND ${STATUS_IN.releasable}`,
      [now, endpointId],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.c.notify();
    return count;
  }

  async releaseStrandedHolds(now: number): Promise<number> {
    const result = await this.c.connections.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1
        WHERE ${STATUS_IN.releasable} AND endpoint_id IN (${ACCEPTING_ENDPOINTS})`,
      [now],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.c.notify();
    return count;
  }

  async listDeliveries(
    filter: DeliveryFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<DeliveryRecord>> {
    const where = ['account_id = $1'];
    const params: unknown[] = [filter.accountId];
    const add = (column: string, op: string, value: unknown): void => {
      params.push(value);
      where.push(`${column} ${op} $${params.length}`);
    };
    if (filter.endpointId) add('endpoint_id', '=', filter.endpointId);
    if (filter.eventId) add('event_id', '=', filter.eventId);
    if (filter.status) add('status', '=', filter.status);
    if (filter.eventName) add('event_name', '=', filter.eventName);
    if (filter.packageId !== undefined) {
      params.push(filter.packageId);
      where.push(
        `event_id IN (SELECT id FROM events WHERE account_id = $1 AND package_id = $${params.length})`,
      );
    }
    if (filter.since !== undefined) add('created_at', '>=', filter.since);
    if (filter.until !== undefined) add('created_at', '<', filter.until);
    if (cursor) add('id', '<', cursor);
    params.push(limit + 1);
    const rows = await this.c.query(
      `SELECT * FROM deliveries WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit).map(toDelivery);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async getDelivery(accountId: AccountId, id: DeliveryId): Promise<DeliveryRecord | undefined> {
    const rows = await this.c.query('SELECT * FROM deliveries WHERE account_id = $1 AND id = $2', [
      accountId,
      id,
    ]);
    return rows[0] && toDelivery(rows[0]);
  }

  async listAttempts(deliveryId: DeliveryId): Promise<AttemptRecord[]> {
    return (
      await this.c.query('SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY number', [
        deliveryId,
      ])
    ).map(toAttempt);
  }

  async redeliver(
    accountId: AccountId,
    id: DeliveryId,
    now: number,
  ): Promise<DeliveryRecord | undefined> {
    const result = await this.c.connections.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, manual = TRUE, updated_at = $1,
              cycle_attempts = CASE WHEN status = 'pending' THEN cycle_attempts ELSE 0 END
        WHERE account_id = $2 AND id = $3 AND ${STATUS_IN.redeliverable}`,
      [now, accountId, id],
    );
    if ((result.rowCount ?? 0) > 0) await this.c.notify();
    return this.getDelivery(accountId, id);
  }

  async recover(
    endpointId: EndpointId,
    since: number,
    until: number,
    now: number,
  ): Promise<number> {
    const result = await this.c.connections.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, cycle_attempts = 0, manual = TRUE, updated_at = $1
        WHERE endpoint_id = $2 AND ${STATUS_IN.recoverable} AND created_at >= $3 AND created_at < $4`,
      [now, endpointId, since, until],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.c.notify();
    return count;
  }

  async queueStats(now: number): Promise<QueueStats> {
    const rows = await this.c.query(
      `SELECT
         (SELECT COUNT(*) FROM deliveries WHERE status = 'pending')::int AS pending,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'delivering')::int AS delivering,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'held')::int AS held,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'failed')::int AS failed,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1)::int AS due,
         (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1) AS oldest`,
      [now],
    );
    const r = rows[0]!;
    return toQueueStats(r);
  }

  subscribeWork(listener: () => void): Promise<() => Promise<void>> {
    return this.c.connections.listen(this.c.channel, listener);
  }
}
