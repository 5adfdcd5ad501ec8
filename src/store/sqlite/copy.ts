// The embedded store's part in moving a store (CopyStore, herald copy-store): exporting the
// unfinished work, and importing a whole deployment in one transaction.

import type { SqliteConnection } from './connection.js';
import type { SqliteEndpoints } from './endpoints.js';
import type { SqliteTokens } from './tokens.js';
import { importedDeliveryParams, strOrNull, toDelivery, toEvent, type Row } from '../rows.js';
import type { CopyStore, StoreCopy, TokenRecord, WorkItem } from '../port.js';

export class SqliteCopy implements CopyStore {
  constructor(
    private readonly c: SqliteConnection,
    /** The store's description, for the refusal of a store that is not empty. */
    private readonly description: string,
    private readonly endpoints: SqliteEndpoints,
    private readonly tokens: SqliteTokens,
  ) {}

  async exportWork(afterEventId: string | null, limit: number): Promise<WorkItem[]> {
    const events = this.c
      .sql(
        `SELECT * FROM events e WHERE e.id > ? AND EXISTS (
         SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'succeeded')
       ORDER BY e.id LIMIT ?`,
      )
      .all(afterEventId ?? '', limit) as Row[];
    const deliveries = this.c.sql(
      `SELECT * FROM deliveries WHERE event_id = ? AND status <> 'succeeded' ORDER BY seq`,
    );
    return events.map((r) => ({
      event: toEvent(r),
      deliveries: (deliveries.all(r.id) as Row[]).map((d) => ({
        ...toDelivery(d),
        orderingKey: strOrNull(d.ordering_key),
      })),
    }));
  }

  async importWork(items: readonly WorkItem[]): Promise<void> {
    const insertEvent = this.c.sql(
      'INSERT INTO events (id, account_id, name, package_id, payload, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertDelivery = this.c.sql(
      `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, event_name, status, attempts,
         cycle_attempts, next_attempt_at, ordering_key, last_status_code, last_error, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.c.db.transaction(() => {
      for (const { event: e, deliveries } of items) {
        insertEvent.run(e.id, e.accountId, e.name, e.packageId, e.payload, e.receivedAt);
        for (const d of deliveries) insertDelivery.run(...importedDeliveryParams(d));
      }
    })();
  }

  async importToken(t: TokenRecord): Promise<void> {
    this.tokens.writeToken(t);
  }

  async importCopy(copy: StoreCopy): Promise<void> {
    await this.beginCopy(copy);
    let committed = false;
    try {
      for (;;) {
        const items = await copy.nextWork();
        if (items.length === 0) break;
        await this.importWork(items);
      }
      await this.endCopy(true);
      committed = true;
    } finally {
      if (!committed) await this.endCopy(false);
    }
  }

  /**
   * The first half of importCopy: opens the transaction the whole copy runs in and writes all but
   * the work, which importWork then adds (its own transactions become savepoints inside this
   * one). Separate, so that the store thread can run a copy whose pages come from elsewhere.
   */
  async beginCopy(copy: Omit<StoreCopy, 'nextWork'>): Promise<void> {
    this.c.db.exec('BEGIN IMMEDIATE');
    try {
      if (this.c.sql('SELECT 1 FROM accounts LIMIT 1').get() !== undefined) {
        throw new Error(`${this.description} already holds accounts; copy into an empty store`);
      }
      for (const [key, value] of copy.settings) await this.endpoints.initSetting(key, value);
      for (const a of copy.accounts) await this.endpoints.insertAccount(a);
      for (const k of copy.apiKeys) await this.endpoints.insertApiKey(k);
      for (const e of copy.endpoints) await this.endpoints.insertEndpoint(e);
      for (const t of copy.tokens) this.tokens.writeToken(t);
    } catch (error) {
      this.c.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Commits the copy beginCopy opened, or rolls it back. */
  async endCopy(commit: boolean): Promise<void> {
    if (this.c.db.inTransaction) this.c.db.exec(commit ? 'COMMIT' : 'ROLLBACK');
  }
}
