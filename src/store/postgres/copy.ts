// PostgreSQL's part in moving a store (CopyStore, herald copy-store): exporting the unfinished
// work, and importing a whole deployment in one transaction (inserts.ts writes the records).

import type { PostgresContext } from './context.js';
import { insertCopy, insertWork, writeToken } from './inserts.js';
import { str, toDelivery, toEvent } from '../rows.js';
import type { CopyStore, StoreCopy, TokenRecord, WorkItem } from '../port.js';

export class PostgresCopy implements CopyStore {
  constructor(
    private readonly c: PostgresContext,
    /** The store's description, for the refusal of a store that is not empty. */
    private readonly description: string,
  ) {}

  async exportWork(afterEventId: string | null, limit: number): Promise<WorkItem[]> {
    const events = await this.c.query(
      `SELECT * FROM events e WHERE e.id > $1 AND EXISTS (
         SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'succeeded')
       ORDER BY e.id LIMIT $2`,
      [afterEventId ?? '', limit],
    );
    if (events.length === 0) return [];
    const deliveries = await this.c.query(
      `SELECT * FROM deliveries WHERE event_id = ANY($1::text[]) AND status <> 'succeeded' ORDER BY seq`,
      [events.map((e) => e.id)],
    );
    return events.map((r) => ({
      event: toEvent(r),
      deliveries: deliveries
        .filter((d) => d.event_id === r.id)
        .map((d) => ({
          ...toDelivery(d),
          orderingKey: d.ordering_key === null ? null : str(d.ordering_key),
        })),
    }));
  }

  async importWork(items: readonly WorkItem[]): Promise<void> {
    await this.c.transaction((client) => insertWork(client, items));
  }

  async importToken(t: TokenRecord): Promise<void> {
    await writeToken(this.c.connections, t);
  }

  async importCopy(copy: StoreCopy): Promise<void> {
    await this.c.transaction((client) => insertCopy(client, copy, this.description));
  }
}
