// Inserting whole records as they are (accounts, API keys, endpoints, token rows, exported work),
// on the pool or on the client of a transaction: the single store calls use them one by one, and
// importCopy uses them all inside one transaction.

import type pg from 'pg';
import {
  ENDPOINT_COLUMNS,
  endpointParams,
  importedDeliveryParams,
  TOKEN_COLUMNS,
  TOKEN_PARAMS,
  tokenParams,
} from '../rows.js';
import type {
  AccountRecord,
  ApiKeyRecord,
  EndpointRow,
  StoreCopy,
  TokenRecord,
  WorkItem,
} from '../port.js';

/** A pool or a transaction's client. */
/** Where a statement runs: the pool's connections, or one client inside a transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

export const placeholders = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

export async function insertAccount(q: Queryable, a: AccountRecord): Promise<void> {
  await q.query(
    'INSERT INTO accounts (id, name, contact_email, created_at) VALUES ($1, $2, $3, $4)',
    [a.id, a.name, a.contactEmail, a.createdAt],
  );
}

export async function insertApiKey(q: Queryable, k: ApiKeyRecord): Promise<void> {
  await q.query(
    'INSERT INTO api_keys (id, account_id, name, hash, prefix, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [k.id, k.accountId, k.name, k.hash, k.prefix, k.createdAt, k.revokedAt],
  );
}

export async function insertEndpoint(q: Queryable, row: EndpointRow): Promise<void> {
  await q.query(
    `INSERT INTO endpoints (${ENDPOINT_COLUMNS}) VALUES (${placeholders(18)})`,
    endpointParams(row),
  );
}

/** Writes a token row as is, whatever is stored. */
export async function writeToken(q: Queryable, t: TokenRecord): Promise<void> {
  await q.query(
    `INSERT INTO oauth_tokens (${TOKEN_COLUMNS}) VALUES (${placeholders(TOKEN_PARAMS)})
     ON CONFLICT (endpoint_id) DO UPDATE SET (${TOKEN_COLUMNS}) = (${placeholders(TOKEN_PARAMS)})`,
    tokenParams(t),
  );
}

/** Inserts exported work as is; leased deliveries come in as pending. Call inside a transaction. */
export async function insertWork(q: Queryable, items: readonly WorkItem[]): Promise<void> {
  for (const { event: e, deliveries } of items) {
    await q.query(
      'INSERT INTO events (id, account_id, name, package_id, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [e.id, e.accountId, e.name, e.packageId, e.payload, e.receivedAt],
    );
    for (const d of deliveries) {
      await q.query(
        `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, event_name, status, attempts, cycle_attempts,
           next_attempt_at, ordering_key, last_status_code, last_error, created_at, updated_at)
         VALUES (${placeholders(14)})`,
        importedDeliveryParams(d),
      );
    }
  }
}

/** Everything of a copy, on the client of the transaction that commits it all or nothing. */
export async function insertCopy(
  client: pg.PoolClient,
  copy: StoreCopy,
  description: string,
): Promise<void> {
  // Taken before the check, so two copies into one database cannot both find it empty.
  await client.query('LOCK TABLE accounts IN EXCLUSIVE MODE');
  const held = await client.query('SELECT 1 FROM accounts LIMIT 1');
  if (held.rows.length > 0) {
    throw new Error(`${description} already holds accounts; copy into an empty database`);
  }
  for (const [key, value] of copy.settings) {
    await client.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
      [key, value],
    );
  }
  for (const a of copy.accounts) await insertAccount(client, a);
  for (const k of copy.apiKeys) await insertApiKey(client, k);
  for (const e of copy.endpoints) await insertEndpoint(client, e);
  for (const t of copy.tokens) await writeToken(client, t);
  for (;;) {
    const items = await copy.nextWork();
    if (items.length === 0) return;
    await insertWork(client, items);
  }
}
