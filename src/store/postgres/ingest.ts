// PostgreSQL's ingest (IngestStore): publish batches committed in groups, one transaction per
// group with a savepoint per batch, `unnest` arrays for the rows; and reading events.

import type pg from 'pg';
import type { AccountId, EventId } from '../../domain/ids.js';
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

  /** Commits a group of publish batches in one transaction, each batch a savepoint inside it. */
  private commitIngest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.c.transaction(async (client) => {
      const outcomes: IngestOutcome[] = [];
      let due = false;
      for (const [i, batch] of batches.entries()) {
        await client.query(`SAVEPOINT b${i}`);
        try {
          outcomes.push(await this.ingestOne(client, batch));
          await client.query(`RELEASE SAVEPOINT b${i}`);
        } catch (error) {
          await client.query(`ROLLBACK TO SAVEPOINT b${i}`);
          throw error;
        }
        if (
          outcomes.at(-1)!.kind === 'inserted' &&
          batch.events.some((e) => e.deliveries.some((d) => d.status === 'pending'))
        ) {
          due = true;
        }
      }
      // Delivered at commit: workers in every process wake at once.
      if (due) await client.query('SELECT pg_notify($1, $2)', [this.c.channel, '']);
      return outcomes;
    });
  }

  async ingestOne(client: pg.PoolClient, batch: IngestBatch): Promise<IngestOutcome> {
    if (batch.idempotency) {
      const claimed = await client.query(
        `INSERT INTO idempotency_keys (account_id, key, request_hash, response, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, key) DO NOTHING`,
        [
          batch.accountId,
          batch.idempotency.key,
          batch.idempotency.requestHash,
          batch.response,
          batch.events[0]?.event.receivedAt ?? Date.now(),
        ],
      );
      if ((claimed.rowCount ?? 0) === 0) {
        const seen = (
          await client.query(
            'SELECT request_hash, response FROM idempotency_keys WHERE account_id = $1 AND key = $2',
            [batch.accountId, batch.idempotency.key],
          )
        ).rows[0] as Row;
        return seen.request_hash === batch.idempotency.requestHash
          ? { kind: 'replayed', response: str(seen.response) }
          : { kind: 'conflict' };
      }
    }
    const events = batch.events.map((e) => e.event);
    await client.query(
      `INSERT INTO events (id, account_id, name, package_id, payload, received_at, trace_parent)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.accountId),
        events.map((e) => e.name),
        events.map((e) => e.packageId),
        events.map((e) => e.payload),
        events.map((e) => e.receivedAt),
        batch.events.map((e) => e.traceParent ?? null),
      ],
    );
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
    for (const { event, deliveries } of batch.events) {
      for (const d of deliveries) {
        cols[0]!.push(d.id);
        cols[1]!.push(event.id);
        cols[2]!.push(d.endpointId);
        cols[3]!.push(event.accountId);
        cols[4]!.push(event.name);
        cols[5]!.push(d.status);
        cols[6]!.push(d.status === 'pending' ? event.receivedAt : null);
        cols[7]!.push(d.orderingKey);
        cols[8]!.push(event.receivedAt);
      }
    }
    if (cols[0]!.length > 0) {
      // Only for endpoints that still exist; the key-share lock makes a concurrent delete wait
      // for this commit, so it removes these deliveries too instead of leaving them orphaned.
      await client.query(
        `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, event_name, status, next_attempt_at,
           ordering_key, created_at, updated_at)
         SELECT t.id, e, ep, a, n, s, nx, ok, c, c
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                       $8::text[], $9::bigint[]) WITH ORDINALITY AS t(id, e, ep, a, n, s, nx, ok, c, ord)
           JOIN (SELECT id FROM endpoints WHERE id = ANY($3::text[]) FOR KEY SHARE) live ON live.id = t.ep
          ORDER BY ord`,
        cols,
      );
    }
    return { kind: 'inserted' };
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
