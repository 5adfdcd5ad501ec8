// The embedded store's OAuth token rows (TokenStore): the refresh lock and the generation
// compare-and-set.

import type { EndpointId } from '../../domain/ids.js';
import type { SqliteConnection } from './connection.js';
import { num, toToken, TOKEN_COLUMNS, TOKEN_PARAMS, tokenParams, type Row } from '../rows.js';
import type { TokenRecord, TokenStore } from '../port.js';

export class SqliteTokens implements TokenStore {
  constructor(private readonly c: SqliteConnection) {}

  async getToken(endpointId: EndpointId): Promise<TokenRecord | undefined> {
    const r = this.c.sql('SELECT * FROM oauth_tokens WHERE endpoint_id = ?').get(endpointId) as
      Row | undefined;
    return r && toToken(r);
  }

  async saveToken(t: TokenRecord): Promise<boolean> {
    return this.c.db.transaction(() => {
      const current = this.c
        .sql('SELECT generation FROM oauth_tokens WHERE endpoint_id = ?')
        .get(t.endpointId) as Row | undefined;
      const stored = current === undefined ? 0 : num(current.generation);
      if (stored !== t.generation - 1) return false;
      this.writeToken(t);
      return true;
    })();
  }

  async acquireTokenLock(
    endpointId: EndpointId,
    owner: string,
    now: number,
    until: number,
  ): Promise<boolean> {
    return this.c.db.transaction(() => {
      this.c
        .sql(
          `INSERT INTO oauth_tokens (endpoint_id, credential_key, generation, updated_at)
         VALUES (?, '', 0, ?) ON CONFLICT (endpoint_id) DO NOTHING`,
        )
        .run(endpointId, now);
      return (
        this.c
          .sql(
            `UPDATE oauth_tokens SET lock_owner = ?, lock_until = ?
            WHERE endpoint_id = ? AND (lock_owner IS NULL OR lock_until < ? OR lock_owner = ?)`,
          )
          .run(owner, until, endpointId, now, owner).changes > 0
      );
    })();
  }

  async releaseTokenLock(endpointId: EndpointId, owner: string): Promise<void> {
    this.c
      .sql(
        'UPDATE oauth_tokens SET lock_owner = NULL, lock_until = NULL WHERE endpoint_id = ? AND lock_owner = ?',
      )
      .run(endpointId, owner);
  }

  /** Writes a token row as is; a refresh lock held on it stays held. */
  writeToken(t: TokenRecord): void {
    const excluded = TOKEN_COLUMNS.split(', ')
      .map((c) => `excluded.${c}`)
      .join(', ');
    this.c
      .sql(
        `INSERT INTO oauth_tokens (${TOKEN_COLUMNS}) VALUES (${Array.from({ length: TOKEN_PARAMS }, () => '?').join(', ')})
       ON CONFLICT (endpoint_id) DO UPDATE SET (${TOKEN_COLUMNS}) = (${excluded})`,
      )
      .run(...tokenParams(t));
  }
}
