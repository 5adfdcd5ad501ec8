// PostgreSQL's part in operations: operational events (stored, then dispatched to deliveries and
// the email outbox), the outbox itself, and retention's small deletes. Functions over a client
// (inside the caller's transaction) or the pool, and PostgresOperations, the OperationsStore part
// of PostgresStore made of them. Several processes run them at once: outbox claims skip locked
// rows, deletes take only rows nobody holds.

import { ALERT_EMAIL_GAP_MS } from '../../domain/alert-email.js';
import { idTimeBound } from '../../domain/ids.js';
import type { AccountId } from '../../domain/ids.js';
import type { PostgresContext } from './context.js';
import type { PostgresIngest } from './ingest.js';
import type { Queryable } from './inserts.js';
import type {
  AlertEmailOutcome,
  AlertEmailRecord,
  AlertEmailRequest,
  OperationalDispatch,
  OperationalEventRecord,
  OperationsStore,
  Page,
  PurgeResult,
  PurgeStep,
} from '../port.js';
import { num, str, toAlertEmail, toOperationalEvent, type Row } from '../rows.js';
import { isFinished, STATUS_IN } from '../sql-status.js';

/** The pool or a client inside a transaction: whatever runs one statement. */

export async function insertOperationalEvents(
  q: Queryable,
  events: readonly OperationalEventRecord[],
): Promise<void> {
  if (events.length === 0) return;
  await q.query(
    `INSERT INTO operational_events (id, account_id, type, endpoint_id, delivery_id, data, created_at)
     SELECT id, a, t, ep, d, data::jsonb, c
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
            AS e(id, a, t, ep, d, data, c)`,
    [
      events.map((e) => e.id),
      events.map((e) => e.accountId),
      events.map((e) => e.type),
      events.map((e) => e.endpointId),
      events.map((e) => e.deliveryId),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => e.createdAt),
    ],
  );
}

/** Marks the event dispatched; false when it was already. Run inside the dispatch transaction. */
export async function markDispatched(q: Queryable, id: string, at: number): Promise<boolean> {
  const result = await q.query(
    'UPDATE operational_events SET dispatched_at = $1 WHERE id = $2 AND dispatched_at IS NULL',
    [at, id],
  );
  return (result.rowCount ?? 0) > 0;
}

/**
 * Counts the event into the email waiting for its endpoint and type, or queues a new one, due
 * when the last one sent for them is ALERT_EMAIL_GAP_MS old. One statement: two processes
 * dispatching events of one endpoint at once meet on the unique index of the waiting email.
 */
export async function gatherAlertEmail(q: Queryable, e: AlertEmailRequest): Promise<void> {
  await q.query(
    `INSERT INTO alert_emails (account_id, endpoint_id, type, endpoint_url, endpoint_description,
       count, data, first_at, last_at, status, due_at)
     VALUES ($1, $2, $3, $4, $5, 1, $6::jsonb, $7, $7, 'pending',
             GREATEST($7, COALESCE((SELECT MAX(finished_at) FROM alert_emails
                                     WHERE endpoint_id = $2 AND type = $3 AND status = 'sent') + $8, 0)))
     ON CONFLICT (endpoint_id, type) WHERE status = 'pending' DO UPDATE
       SET count = alert_emails.count + 1, data = excluded.data, last_at = excluded.last_at,
           endpoint_url = excluded.endpoint_url, endpoint_description = excluded.endpoint_description`,
    [
      e.accountId,
      e.endpointId,
      e.type,
      e.endpointUrl,
      e.endpointDescription,
      JSON.stringify(e.data),
      e.at,
      ALERT_EMAIL_GAP_MS,
    ],
  );
}

export async function claimAlertEmails(
  q: Queryable,
  now: number,
  leaseUntil: number,
  limit: number,
): Promise<AlertEmailRecord[]> {
  const result = await q.query(
    `UPDATE alert_emails a SET lease_until = $2
       FROM (SELECT seq FROM alert_emails
              WHERE status = 'pending' AND due_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
              ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
      WHERE a.seq = due.seq
     RETURNING a.*`,
    [now, leaseUntil, limit],
  );
  return (result.rows as Row[]).map(toAlertEmail).sort((a, b) => a.dueAt - b.dueAt);
}

export async function finishAlertEmail(
  client: Queryable,
  email: Pick<AlertEmailRecord, 'seq' | 'count'>,
  outcome: AlertEmailOutcome,
): Promise<void> {
  switch (outcome.kind) {
    case 'retry':
      await client.query(
        `UPDATE alert_emails SET attempts = attempts + 1, last_error = $1, due_at = $2, lease_until = NULL
          WHERE seq = $3 AND status = 'pending'`,
        [outcome.error, outcome.retryAt, email.seq],
      );
      return;
    case 'dropped':
      await client.query(
        `UPDATE alert_emails SET status = 'dropped', last_error = $1, finished_at = $2, lease_until = NULL
          WHERE seq = $3 AND status = 'pending'`,
        [outcome.error, outcome.at, email.seq],
      );
      return;
    case 'sent': {
      // The row as it is now (locked): events counted into it while it was being sent stay for
      // the next email, an hour on.
      const rows = (
        await client.query('SELECT * FROM alert_emails WHERE seq = $1 FOR UPDATE', [email.seq])
      ).rows as Row[];
      const row = rows[0];
      if (!row || str(row.status) !== 'pending') return;
      await client.query(
        `UPDATE alert_emails SET status = 'sent', count = $1, finished_at = $2, lease_until = NULL,
                attempts = attempts + 1, last_error = NULL
          WHERE seq = $3`,
        [email.count, outcome.at, email.seq],
      );
      const rest = num(row.count) - email.count;
      if (rest > 0) {
        await client.query(
          `INSERT INTO alert_emails (account_id, endpoint_id, type, endpoint_url, endpoint_description,
             count, data, first_at, last_at, status, due_at)
           SELECT account_id, endpoint_id, type, endpoint_url, endpoint_description, $1, data,
                  last_at, last_at, 'pending', $2
             FROM alert_emails WHERE seq = $3`,
          [rest, outcome.at + ALERT_EMAIL_GAP_MS, email.seq],
        );
      }
      return;
    }
  }
}

/**
 * One step of retention on one table (see Store.purge for the rules), inside the caller's
 * transaction. Rows another transaction holds (a worker recording a result, say) are skipped, not
 * waited for; the next pass finds them.
 */
export async function purge(q: Queryable, step: PurgeStep): Promise<PurgeResult> {
  const { before, limit } = step;
  const after = step.after ?? '';
  switch (step.table) {
    case 'deliveries': {
      // The ids walked, then the finished old ones among them deleted with their attempts.
      const walked = (
        await q.query(
          `SELECT id, status, updated_at FROM deliveries
            WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3`,
          [after, idTimeBound('delivery', before), limit],
        )
      ).rows as Row[];
      const old = walked
        .filter((r) => isFinished(r.status) && num(r.updated_at) < before)
        .map((r) => str(r.id));
      let deleted = 0;
      if (old.length > 0) {
        const gone = (
          await q.query(
            `DELETE FROM deliveries WHERE id IN (
               SELECT id FROM deliveries WHERE id = ANY($1::text[])
                  AND ${STATUS_IN.finished} AND updated_at < $2
                  FOR UPDATE SKIP LOCKED)
             RETURNING id`,
            [old, before],
          )
        ).rows.map((r) => str((r as Row).id));
        if (gone.length > 0) {
          await q.query('DELETE FROM attempts WHERE delivery_id = ANY($1::text[])', [gone]);
        }
        deleted = gone.length;
      }
      return { deleted, next: walked.length < limit ? null : str(walked.at(-1)!.id) };
    }
    case 'events': {
      const ids = (
        await q.query('SELECT id FROM events WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3', [
          after,
          idTimeBound('event', before),
          limit,
        ])
      ).rows.map((r) => str((r as Row).id));
      let deleted = 0;
      if (ids.length > 0) {
        const result = await q.query(
          `DELETE FROM events e WHERE e.id IN (
             SELECT id FROM events WHERE id = ANY($1::text[]) FOR UPDATE SKIP LOCKED)
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)`,
          [ids],
        );
        deleted = result.rowCount ?? 0;
      }
      return { deleted, next: ids.length < limit ? null : ids.at(-1)! };
    }
    case 'idempotency_keys': {
      const result = await q.query(
        `DELETE FROM idempotency_keys WHERE (account_id, key) IN (
           SELECT account_id, key FROM idempotency_keys WHERE created_at < $1
            ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, limit],
      );
      const deleted = result.rowCount ?? 0;
      return { deleted, next: deleted < limit ? null : 'more' };
    }
    case 'operational_events': {
      const ids = (
        await q.query(
          'SELECT id FROM operational_events WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3',
          [after, idTimeBound('operational', before), limit],
        )
      ).rows.map((r) => str((r as Row).id));
      let deleted = 0;
      if (ids.length > 0) {
        const result = await q.query(
          'DELETE FROM operational_events WHERE id = ANY($1::text[]) AND dispatched_at IS NOT NULL',
          [ids],
        );
        deleted = result.rowCount ?? 0;
      }
      return { deleted, next: ids.length < limit ? null : ids.at(-1)! };
    }
    case 'alert_emails': {
      const result = await q.query(
        `DELETE FROM alert_emails WHERE seq IN (
           SELECT seq FROM alert_emails WHERE status <> 'pending' AND finished_at < $1
            ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [before, limit],
      );
      const deleted = result.rowCount ?? 0;
      return { deleted, next: deleted < limit ? null : 'more' };
    }
  }
}

export class PostgresOperations implements OperationsStore {
  constructor(
    private readonly c: PostgresContext,
    /** Inserts what a dispatched operational event fans out to, inside the dispatch. */
    private readonly ingests: PostgresIngest,
  ) {}

  async insertOperationalEvent(e: OperationalEventRecord): Promise<void> {
    await insertOperationalEvents(this.c.connections, [e]);
  }

  async listOperationalEvents(
    accountId: AccountId,
    cursor: string | null,
    limit: number,
  ): Promise<Page<OperationalEventRecord>> {
    const rows = await this.c.query(
      'SELECT * FROM operational_events WHERE account_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3',
      [accountId, cursor, limit + 1],
    );
    const data = rows.slice(0, limit).map(toOperationalEvent);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async undispatchedOperationalEvents(limit: number): Promise<OperationalEventRecord[]> {
    return (
      await this.c.query(
        'SELECT * FROM operational_events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1',
        [limit],
      )
    ).map(toOperationalEvent);
  }

  async dispatchOperationalEvent(d: OperationalDispatch): Promise<boolean> {
    return this.c.transaction(async (client) => {
      if (!(await markDispatched(client, d.id, d.at))) return false;
      if (d.event) {
        await this.ingests.insertRows(client, [
          {
            accountId: d.event.event.accountId,
            idempotency: null,
            events: [d.event],
            response: '',
          },
        ]);
        if (d.event.deliveries.some((x) => x.status === 'pending')) {
          await client.query('SELECT pg_notify($1, $2)', [this.c.channel, '']);
        }
      }
      if (d.email) await gatherAlertEmail(client, d.email);
      return true;
    });
  }

  claimAlertEmails(now: number, leaseUntil: number, limit: number): Promise<AlertEmailRecord[]> {
    return claimAlertEmails(this.c.connections, now, leaseUntil, limit);
  }

  async finishAlertEmail(
    email: Pick<AlertEmailRecord, 'seq' | 'count'>,
    outcome: AlertEmailOutcome,
  ): Promise<void> {
    await this.c.transaction((client) => finishAlertEmail(client, email, outcome));
  }

  purge(step: PurgeStep): Promise<PurgeResult> {
    return this.c.transaction((client) => purge(client, step));
  }
}
