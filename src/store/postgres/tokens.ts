// PostgreSQL's OAuth token rows (TokenStore): the refresh lock with an expiry, and the generation
// compare-and-set.

import type { EndpointId } from '../../domain/ids.js';
import type { PostgresContext } from './context.js';
import { placeholders } from './inserts.js';
import { toToken, TOKEN_COLUMNS, TOKEN_PARAMS, tokenParams } from '../rows.js';
import type { TokenRecord, TokenStore } from '../port.js';

export class PostgresTokens implements TokenStore {
  constructor(private readonly c: PostgresContext) {}

  async getToken(endpointId: EndpointId): Promise<TokenRecord | undefined> {
    const rows = await this.c.query('SELECT * FROM oauth_tokens WHERE endpoint_id = $1', [
      endpointId,
    ]);
    return rows[0] && toToken(rows[0]);
  }

  async saveToken(t: TokenRecord): Promise<boolean> {
    const values = tokenParams(t);
    if (t.generation === 1) {
      const inserted = await this.c.connections.query(
        `INSERT INTO oauth_tokens (${TOKEN_COLUMNS}) VALUES (${placeholders(TOKEN_PARAMS)}) ON CONFLICT (endpoint_id) DO NOTHING`,
        values,
      );
      if ((inserted.rowCount ?? 0) > 0) return true;
    }
    // Compare-and-set on the generation: a writer that lost the race changes nothing.
    const updated = await this.c.connections.query(
      `UPDATE oauth_tokens SET (${TOKEN_COLUMNS}) = (${placeholders(TOKEN_PARAMS)}) WHERE endpoint_id = $1 AND generation = $3 - 1`,
      values,
    );
    return (updated.rowCount ?? 0) > 0;
  }

  async acquireTokenLock(
    endpointId: EndpointId,
    owner: string,
    now: number,
    until: number,
  ): Promise<boolean> {
    await this.c.query(
      `INSERT INTO oauth_tokens (endpoint_id, credential_key, generation, updated_at) VALUES ($1, '', 0, $2)
       ON CONFLICT (endpoint_id) DO NOTHING`,
      [endpointId, now],
    );
    const result = await this.c.connections.query(
      `UPDATE oauth_tokens SET lock_owner = $1, lock_until = $2
        WHERE endpoint_id = $3 AND (lock_owner IS NULL OR lock_until < $4 OR lock_owner = $1)`,
      [owner, until, endpointId, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async releaseTokenLock(endpointId: EndpointId, owner: string): Promise<void> {
    await this.c.query(
      'UPDATE oauth_tokens SET lock_owner = NULL, lock_until = NULL WHERE endpoint_id = $1 AND lock_owner = $2',
      [endpointId, owner],
    );
  }
}
