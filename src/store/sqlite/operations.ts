// The embedded store's part in operations: operational events (stored, then dispatched to
// deliveries and the email outbox), the outbox itself, and retention's small deletes. Functions
// over the store's database, each run as one short transaction, and SqliteOperations, the
// OperationsStore part of SqliteStore made of them.

import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { ALERT_EMAIL_GAP_MS } from '../../domain/alert-email.js';
import { idTimeBound } from '../../domain/ids.js';
import type { AccountId } from '../../domain/ids.js';
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
import { num, numOrNull, toAlertEmail, toOperationalEvent, type Row } from '../rows.js';
import { isFinished, STATUS_IN } from '../sql-status.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteIngest } from './ingest.js';

export interface SqliteContext {
  readonly db: Database.Database;
  /** A prepared statement, cached by its text. */
  sql(text: string): Statement;
}

export function insertOperationalEvents(
  c: SqliteContext,
  events: readonly OperationalEventRecord[],
): void {
  const insert = c.sql(
    `INSERT INTO operational_events (id, account_id, type, endpoint_id, delivery_id, data, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const e of events) {
    insert.run(
      e.id,
      e.accountId,
      e.type,
      e.endpointId,
      e.deliveryId,
      JSON.stringify(e.data),
      e.createdAt,
    );
  }
}

export function undispatchedOperationalEvents(
  c: SqliteContext,
  limit: number,
): OperationalEventRecord[] {
  return (
    c
      .sql('SELECT * FROM operational_events WHERE dispatched_at IS NULL ORDER BY id LIMIT ?')
      .all(limit) as Row[]
  ).map(toOperationalEvent);
}

/** Marks the event dispatched; false when it was already. Run inside the dispatch transaction. */
export function markDispatched(c: SqliteContext, id: string, at: number): boolean {
  return (
    c
      .sql('UPDATE operational_events SET dispatched_at = ? WHERE id = ? AND dispatched_at IS NULL')
      .run(at, id).changes > 0
  );
}

/**
 * Counts the event into the email waiting for its endpoint and type, or queues a new one, due
 * when the last one sent for them is ALERT_EMAIL_GAP_MS old.
 */
export function gatherAlertEmail(c: SqliteContext, e: AlertEmailRequest): void {
  const data = JSON.stringify(e.data);
  const merged = c
    .sql(
      `UPDATE alert_emails SET count = count + 1, data = ?, last_at = ?, endpoint_url = ?,
              endpoint_description = ?
        WHERE endpoint_id = ? AND type = ? AND status = 'pending'`,
    )
    .run(data, e.at, e.endpointUrl, e.endpointDescription, e.endpointId, e.type);
  if (merged.changes > 0) return;
  const last = c
    .sql(
      `SELECT MAX(finished_at) AS at FROM alert_emails
        WHERE endpoint_id = ? AND type = ? AND status = 'sent'`,
    )
    .get(e.endpointId, e.type) as Row;
  const lastSent = numOrNull(last.at);
  const due = lastSent === null ? e.at : Math.max(e.at, lastSent + ALERT_EMAIL_GAP_MS);
  c.sql(
    `INSERT INTO alert_emails (account_id, endpoint_id, type, endpoint_url, endpoint_description,
       count, data, first_at, last_at, status, due_at)
     VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, 'pending', ?)`,
  ).run(
    e.accountId,
    e.endpointId,
    e.type,
    e.endpointUrl,
    e.endpointDescription,
    data,
    e.at,
    e.at,
    due,
  );
}

export function claimAlertEmails(
  c: SqliteContext,
  now: number,
  leaseUntil: number,
  limit: number,
): AlertEmailRecord[] {
  return c.db.transaction(() => {
    const rows = c
      .sql(
        `SELECT * FROM alert_emails
          WHERE status = 'pending' AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?)
          ORDER BY due_at LIMIT ?`,
      )
      .all(now, now, limit) as Row[];
    const lease = c.sql('UPDATE alert_emails SET lease_until = ? WHERE seq = ?');
    for (const r of rows) lease.run(leaseUntil, r.seq);
    return rows.map(toAlertEmail);
  })();
}

export function finishAlertEmail(
  c: SqliteContext,
  email: Pick<AlertEmailRecord, 'seq' | 'count'>,
  outcome: AlertEmailOutcome,
): void {
  c.db.transaction(() => {
    switch (outcome.kind) {
      case 'retry':
        c.sql(
          `UPDATE alert_emails SET attempts = attempts + 1, last_error = ?, due_at = ?, lease_until = NULL
            WHERE seq = ? AND status = 'pending'`,
        ).run(outcome.error, outcome.retryAt, email.seq);
        return;
      case 'dropped':
        c.sql(
          `UPDATE alert_emails SET status = 'dropped', last_error = ?, finished_at = ?, lease_until = NULL
            WHERE seq = ? AND status = 'pending'`,
        ).run(outcome.error, outcome.at, email.seq);
        return;
      case 'sent': {
        const row = c.sql('SELECT * FROM alert_emails WHERE seq = ?').get(email.seq) as
          Row | undefined;
        if (!row || row.status !== 'pending') return;
        c.sql(
          `UPDATE alert_emails SET status = 'sent', count = ?, finished_at = ?, lease_until = NULL,
                  attempts = attempts + 1, last_error = NULL
            WHERE seq = ?`,
        ).run(email.count, outcome.at, email.seq);
        // Events gathered while it was being sent go into the next email, an hour on.
        const rest = num(row.count) - email.count;
        if (rest > 0) {
          c.sql(
            `INSERT INTO alert_emails (account_id, endpoint_id, type, endpoint_url, endpoint_description,
               count, data, first_at, last_at, status, due_at)
             SELECT account_id, endpoint_id, type, endpoint_url, endpoint_description, ?, data,
                    last_at, last_at, 'pending', ?
               FROM alert_emails WHERE seq = ?`,
          ).run(rest, outcome.at + ALERT_EMAIL_GAP_MS, email.seq);
        }
        return;
      }
    }
  })();
}

/** One step of retention on one table (see Store.purge for the rules). */
export function purge(c: SqliteContext, step: PurgeStep): PurgeResult {
  const { before, limit } = step;
  const after = step.after ?? '';
  return c.db.transaction((): PurgeResult => {
    switch (step.table) {
      case 'deliveries': {
        // Walk deliveries created before the cutoff in id (creation) order; only the finished
        // ones whose last change is older go. What is skipped is looked at again next pass.
        const ids = c
          .sql(
            `SELECT id, status, updated_at FROM deliveries
              WHERE id > ? AND id < ? ORDER BY id LIMIT ?`,
          )
          .raw(true)
          .all(after, idTimeBound('delivery', before), limit) as [string, string, number][];
        const gone = ids
          .filter(([, status, updated]) => isFinished(status) && updated < before)
          .map(([id]) => id);
        if (gone.length > 0) {
          const list = JSON.stringify(gone);
          c.sql('DELETE FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?))').run(
            list,
          );
          c.sql(
            `DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?))
               AND ${STATUS_IN.finished}`,
          ).run(list);
        }
        return { deleted: gone.length, next: ids.length < limit ? null : ids.at(-1)![0] };
      }
      case 'events': {
        const ids = c
          .sql('SELECT id FROM events WHERE id > ? AND id < ? ORDER BY id LIMIT ?')
          .pluck()
          .all(after, idTimeBound('event', before), limit) as string[];
        const deleted =
          ids.length === 0
            ? 0
            : c
                .sql(
                  `DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))
                     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`,
                )
                .run(JSON.stringify(ids)).changes;
        return { deleted, next: ids.length < limit ? null : ids.at(-1)! };
      }
      case 'idempotency_keys': {
        const deleted = c
          .sql(
            `DELETE FROM idempotency_keys WHERE rowid IN (
               SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
          )
          .run(before, limit).changes;
        return { deleted, next: deleted < limit ? null : 'more' };
      }
      case 'operational_events': {
        const ids = c
          .sql('SELECT id FROM operational_events WHERE id > ? AND id < ? ORDER BY id LIMIT ?')
          .pluck()
          .all(after, idTimeBound('operational', before), limit) as string[];
        const deleted =
          ids.length === 0
            ? 0
            : c
                .sql(
                  `DELETE FROM operational_events WHERE id IN (SELECT value FROM json_each(?))
                     AND dispatched_at IS NOT NULL`,
                )
                .run(JSON.stringify(ids)).changes;
        return { deleted, next: ids.length < limit ? null : ids.at(-1)! };
      }
      case 'alert_emails': {
        const deleted = c
          .sql(
            `DELETE FROM alert_emails WHERE seq IN (
               SELECT seq FROM alert_emails WHERE status <> 'pending' AND finished_at < ?
                ORDER BY finished_at LIMIT ?)`,
          )
          .run(before, limit).changes;
        return { deleted, next: deleted < limit ? null : 'more' };
      }
    }
  })();
}

export class SqliteOperations implements OperationsStore {
  constructor(
    private readonly c: SqliteConnection,
    /** Commits what a dispatched operational event fans out to, inside the dispatch. */
    private readonly ingests: SqliteIngest,
  ) {}

  async insertOperationalEvent(e: OperationalEventRecord): Promise<void> {
    insertOperationalEvents(this.c, [e]);
  }

  async listOperationalEvents(
    accountId: AccountId,
    cursor: string | null,
    limit: number,
  ): Promise<Page<OperationalEventRecord>> {
    const rows = this.c
      .sql(
        `SELECT * FROM operational_events WHERE account_id = ? AND (? IS NULL OR id < ?)
        ORDER BY id DESC LIMIT ?`,
      )
      .all(accountId, cursor, cursor, limit + 1) as Row[];
    const data = rows.slice(0, limit).map(toOperationalEvent);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async undispatchedOperationalEvents(limit: number): Promise<OperationalEventRecord[]> {
    return undispatchedOperationalEvents(this.c, limit);
  }

  async dispatchOperationalEvent(d: OperationalDispatch): Promise<boolean> {
    return this.c.db.transaction(() => {
      if (!markDispatched(this.c, d.id, d.at)) return false;
      if (d.event) {
        this.ingests.commitIngest([
          {
            accountId: d.event.event.accountId,
            idempotency: null,
            events: [d.event],
            response: '',
          },
        ]);
      }
      if (d.email) gatherAlertEmail(this.c, d.email);
      return true;
    })();
  }

  async claimAlertEmails(
    now: number,
    leaseUntil: number,
    limit: number,
  ): Promise<AlertEmailRecord[]> {
    return claimAlertEmails(this.c, now, leaseUntil, limit);
  }

  async finishAlertEmail(
    email: Pick<AlertEmailRecord, 'seq' | 'count'>,
    outcome: AlertEmailOutcome,
  ): Promise<void> {
    finishAlertEmail(this.c, email, outcome);
  }

  async purge(step: PurgeStep): Promise<PurgeResult> {
    return this.c.relaxed(() => purge(this.c, step));
  }
}
