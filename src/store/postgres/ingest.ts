// PostgreSQL's ingest (IngestStore): publish batches committed in groups, one transaction per
// group, `unnest` arrays for the rows of the whole group; and reading events.

import type pg from 'pg';
import type { AccountId, DeliveryId, EventId } from '../../domain/ids.js';
import type { PostgresContext } from './context.js';
import type { PostgresConsoleQueries } from './console-queries.js';
import { GroupCommit } from '../group-commit.js';
import { str, toEvent, type Row } from '../rows.js';
import type {
  EventFilter,
  EventRecord,
  IngestBatch,
  IngestOutcome,
  IngestStore,
  Page,
} from '../port.js';

const INSERTED: IngestOutcome = { kind: 'inserted' };
const NONE_SKIPPED: ReadonlySet<DeliveryId> = new Set();

export class PostgresIngest implements IngestStore {
  private readonly ingests = GroupCommit.ofBatches((group) => this.commitIngest(group));

  constructor(
    private readonly c: PostgresContext,
    /** The console's reads (searchEvents). */
    private readonly reads: PostgresConsoleQueries,
  ) {}

  /** Commits the publishes handed over before closing. */
  close(): Promise<void> {
    return this.ingests.close();
  }

  ingest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.ingests.submit(batches);
  }

  /**
   * Commits a group of publish batches in one transaction: each batch's idempotency key is
   * claimed first (a batch whose key was already used is answered from it and inserts nothing),
   * then the events and deliveries of every batch that goes in are inserted with one statement
   * each, in publish order. All or nothing, as before: a failing statement fails the group. Two
   * statements per group, not per batch: 128 single-event publishes used to cost some 500 round
   * trips inside one transaction (a savepoint, two inserts and a release each).
   */
  private commitIngest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.c.transaction(async (client) => {
      const outcomes: IngestOutcome[] = [];
      const inserting: IngestBatch[] = [];
      for (const batch of batches) {
        const outcome = batch.idempotency ? await this.claimKey(client, batch) : INSERTED;
        outcomes.push(outcome);
        if (outcome.kind === 'inserted') inserting.push(batch);
      }
      const skipped = await this.insertRows(client, inserting);
      if (skipped.size > 0) {
        batches.forEach((batch, i) => {
          if (outcomes[i]!.kind !== 'inserted') return;
          const ids = batch.events.flatMap((e) =>
            e.deliveries.filter((d) => skipped.has(d.id)).map((d) => d.id),
          );
          if (ids.length > 0) outcomes[i] = { kind: 'inserted', skipped: ids };
        });
      }
      // Delivered at commit: workers in every process wake at once (for work left to claim;
      // deliveries handed to this process's worker are leased already).
      const due = inserting.some((b) =>
        b.events.some((e) => e.deliveries.some((d) => d.status === 'pending' && !d.lease)),
      );
      if (due) await client.query('SELECT pg_notify($1, $2)', [this.c.channel, '']);
      return outcomes;
    });
  }

  /** Claims a batch's idempotency key: inserted (go on), replayed (same request) or conflict. */
  private async claimKey(client: pg.PoolClient, batch: IngestBatch): Promise<IngestOutcome> {
    const idempotency = batch.idempotency!;
    const claimed = await client.query(
      `INSERT INTO idempotency_keys (account_id, key, request_hash, response, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, key) DO NOTHING`,
      [
        batch.accountId,
        idempotency.key,
        idempotency.requestHash,
        batch.response,
        batch.events[0]?.event.receivedAt ?? Date.now(),
      ],
    );
    if ((claimed.rowCount ?? 0) > 0) return INSERTED;
    const seen = (
      await client.query(
        'SELECT request_hash, response FROM idempotency_keys WHERE account_id = $1 AND key = $2',
        [batch.accountId, idempotency.key],
      )
    ).rows[0] as Row;
    return seen.request_hash === idempotency.requestHash
      ? { kind: 'replayed', response: str(seen.response) }
      : { kind: 'conflict' };
  }

  /**
   * Inserts the events of `batches` and their deliveries, one statement each, in order (inside
   * the caller's transaction; also the operational relay's dispatch). Returns the leased
   * deliveries left out because their endpoint is gone (see IngestOutcome).
   */
  async insertRows(
    client: pg.PoolClient,
    batches: readonly IngestBatch[],
  ): Promise<ReadonlySet<DeliveryId>> {
    const ev: unknown[][] = [[], [], [], [], [], [], []];
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
    const leased: DeliveryId[] = [];
    for (const batch of batches) {
      for (const { event, deliveries, traceParent } of batch.events) {
        ev[0]!.push(event.id);
        ev[1]!.push(event.accountId);
        ev[2]!.push(event.name);
        ev[3]!.push(event.packageId);
        ev[4]!.push(event.payload);
        ev[5]!.push(event.receivedAt);
        ev[6]!.push(traceParent ?? null);
        for (const d of deliveries) {
          cols[0]!.push(d.id);
          cols[1]!.push(event.id);
          cols[2]!.push(d.endpointId);
          cols[3]!.push(event.accountId);
          cols[4]!.push(event.name);
          cols[5]!.push(d.lease ? 'delivering' : d.status);
          cols[6]!.push(d.status === 'pending' ? event.receivedAt : null);
          cols[7]!.push(d.orderingKey);
          cols[8]!.push(event.receivedAt);
          cols[9]!.push(d.lease ? d.lease.owner : null);
          cols[10]!.push(d.lease ? d.lease.until : null);
          if (d.lease) leased.push(d.id);
        }
      }
    }
    if (ev[0]!.length === 0) return NONE_SKIPPED;
    await client.query(
      `INSERT INTO events (id, account_id, name, package_id, payload, received_at, trace_parent)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])`,
      ev,
    );
    if (cols[0]!.length === 0) return NONE_SKIPPED;
    // Only for endpoints that still exist; the key-share lock makes a concurrent delete wait
    // for this commit, so it removes these deliveries too instead of leaving them orphaned.
    const insert = `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, event_name, status,
         next_attempt_at, ordering_key, created_at, updated_at, lease_owner, lease_expires_at)
       SELECT t.id, e, ep, a, n, s, nx, ok, c, c, lo, lu
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                     $8::text[], $9::bigint[], $10::text[], $11::bigint[])
              WITH ORDINALITY AS t(id, e, ep, a, n, s, nx, ok, c, lo, lu, ord)
         JOIN (SELECT id FROM endpoints WHERE id = ANY($3::text[]) FOR KEY SHARE) live ON live.id = t.ep
        ORDER BY ord`;
    if (leased.length === 0) {
      await client.query(insert, cols);
      return NONE_SKIPPED;
    }
    // Deliveries handed to a worker: which of them were left out, so it does not send them.
    const left = await client.query(
      `WITH inserted AS (${insert} RETURNING id)
       SELECT l.id FROM unnest($12::text[]) AS l(id) WHERE l.id NOT IN (SELECT id FROM inserted)`,
      [...cols, leased],
    );
    return left.rowCount
      ? new Set(left.rows.map((r: Row) => str(r.id) as DeliveryId))
      : NONE_SKIPPED;
  }

  async getEvent(accountId: AccountId, id: EventId): Promise<EventRecord | undefined> {
    const rows = await this.c.query('SELECT * FROM events WHERE account_id = $1 AND id = $2', [
      accountId,
      id,
    ]);
    return rows[0] && toEvent(rows[0]);
  }

  async searchEvents(
    filter: EventFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    return this.reads.searchEvents(filter, cursor, limit);
  }
}
