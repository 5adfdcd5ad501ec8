// Moving a store (herald copy-store): the deployment and its unfinished work, written as is.

import type { AccountRecord, ApiKeyRecord } from './accounts.js';
import type { EndpointRow } from './endpoints.js';
import type { EventRecord } from './ingest.js';
import type { DeliveryRecord } from './queue.js';
import type { TokenRecord } from './tokens.js';

/** An event with its unfinished deliveries, for moving work between stores. */
export interface WorkItem {
  readonly event: EventRecord;
  readonly deliveries: ReadonlyArray<DeliveryRecord & { readonly orderingKey: string | null }>;
}

/** A whole deployment on its way into another store (herald copy-store). */
export interface StoreCopy {
  readonly settings: ReadonlyArray<readonly [key: string, value: string]>;
  readonly accounts: readonly AccountRecord[];
  readonly apiKeys: readonly ApiKeyRecord[];
  readonly endpoints: readonly EndpointRow[];
  readonly tokens: readonly TokenRecord[];
  /** The unfinished work, a page at a time; an empty page is the end. */
  nextWork(): Promise<readonly WorkItem[]>;
}

/** Events with unfinished deliveries, in id order. */
export interface CopyStore {
  exportWork(afterEventId: string | null, limit: number): Promise<WorkItem[]>;
  /** Inserts exported work as is (ids, counters, times); leased deliveries come in as pending. */
  importWork(items: readonly WorkItem[]): Promise<void>;
  /** Writes a token record as is, whatever is stored (for copying a store). */
  importToken(record: TokenRecord): Promise<void>;
  /**
   * Writes a copied deployment into this store in one transaction: all of it, or nothing when
   * anything fails (a write, or reading the next page of work), so a failed copy leaves the store
   * as it was and can run again. Refuses a store that already holds accounts.
   */
  importCopy(copy: StoreCopy): Promise<void>;
}
