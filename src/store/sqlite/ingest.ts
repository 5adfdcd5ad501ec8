// The embedded store's ingest (IngestStore): publish batches committed in groups, one
// transaction per group, and reading events.

import type { AccountId, DeliveryId, EndpointId, EventId } from '../../domain/ids.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteConsoleQueries } from './console-queries.js';
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

export class SqliteIngest implements IngestStore {
  private readonly ingests = GroupCommit.ofBatches((group) =>
    Promise.resolve(this.commitIngest(group)),
  );

  constructor(
    private readonly c: SqliteConnection,
    /** The console's reads (searchEvents). */
    private readonly reads: SqliteConsoleQueries,
  ) {}

  /** Commits the publishes handed over before closing. */
  close(): Promise<void> {
    return this.ingests.close();
  }

  ingest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.ingests.submit(batches);
  }

  /**
   * Commits a group of publish batches now, in one transaction: what `ingest` groups, and what
   * the store thread runs for the groups its main side formed.
   */
  commitIngest(batches: readonly IngestBatch[]): IngestOutcome[] {
    const findKey = this.c.sql(
      'SELECT request_hash, response FROM idempotency_keys WHERE account_id = ? AND key = ?',
    );
    const insertKey = this.c.sql(
      'INSERT INTO idempotency_keys (account_id, key, request_hash, response, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    const insertEvent = this.c.sql(
      'INSERT INTO events (id, account_id, name, package_id, payload, received_at, trace_parent) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const insertDelivery = this.c.sql(
      `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, event_name, status,
         next_attempt_at, ordering_key, lease_owner, lease_expires_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const endpointExists = this.c.sql('SELECT 1 FROM endpoints WHERE id = ?').pluck();
    const one = this.c.db.transaction((batch: IngestBatch): IngestOutcome => {
      if (batch.idempotency) {
        const seen = findKey.get(batch.accountId, batch.idempotency.key) as Row | undefined;
        if (seen) {
          return seen.request_hash === batch.idempotency.requestHash
            ? { kind: 'replayed', response: str(seen.response) }
            : { kind: 'conflict' };
        }
      }
      // Deliveries only for endpoints that still exist: one deleted since the publisher matched
      // it must not leave work that nothing can ever send. Asked once per endpoint per batch.
      const live = new Map<EndpointId, boolean>();
      const exists = (id: EndpointId): boolean => {
        let known = live.get(id);
        if (known === undefined) live.set(id, (known = endpointExists.get(id) !== undefined));
        return known;
      };
      const skipped: DeliveryId[] = [];
      for (const { event, deliveries, traceParent } of batch.events) {
        const at = event.receivedAt;
        insertEvent.run(
          event.id,
          event.accountId,
          event.name,
          event.packageId,
          event.payload,
          at,
          traceParent ?? null,
        );
        for (const d of deliveries) {
          const lease = d.lease;
          if (!exists(d.endpointId)) {
            if (lease) skipped.push(d.id);
            continue;
          }
          const due = d.status === 'pending' ? at : null;
          insertDelivery.run(
            d.id,
            event.id,
            d.endpointId,
            event.accountId,
            event.name,
            lease ? 'delivering' : d.status,
            due,
            d.orderingKey,
            lease ? lease.owner : null,
            lease ? lease.until : null,
            at,
            at,
          );
        }
      }
      if (batch.idempotency) {
        insertKey.run(
          batch.accountId,
          batch.idempotency.key,
          batch.idempotency.requestHash,
          batch.response,
          batch.events[0]?.event.receivedAt ?? Date.now(),
        );
      }
      return skipped.length > 0 ? { kind: 'inserted', skipped } : { kind: 'inserted' };
    });
    // One outer transaction (one commit, one fsync); each batch is a savepoint inside it.
    return this.c.db.transaction(() => batches.map((b) => one(b)))();
  }

  async getEvent(accountId: AccountId, id: EventId): Promise<EventRecord | undefined> {
    const r = this.c
      .sql('SELECT * FROM events WHERE account_id = ? AND id = ?')
      .get(accountId, id) as Row | undefined;
    return r && toEvent(r);
  }

  async searchEvents(
    filter: EventFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    return this.reads.searchEvents(filter, cursor, limit);
  }
}
