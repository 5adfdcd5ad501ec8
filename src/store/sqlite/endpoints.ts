// The embedded store's accounts, API keys, settings and endpoints (SettingsStore, AccountStore,
// EndpointStore), over the connection it shares with the other parts.

import type { AuthStatus, EndpointState, Origin } from '../../domain/endpoint.js';
import type { AccountId, ApiKeyId, EndpointId } from '../../domain/ids.js';
import type { SqliteConnection } from './connection.js';
import { insertOperationalEvents } from './operations.js';
import {
  ENDPOINT_COLUMNS,
  endpointParams,
  num,
  str,
  toAccount,
  toApiKey,
  toEndpoint,
  type Row,
} from '../rows.js';
import type {
  AccountRecord,
  AccountStore,
  ApiKeyRecord,
  EndpointRow,
  EndpointStore,
  OperationalEventRecord,
  SettingsStore,
} from '../port.js';

export class SqliteEndpoints implements SettingsStore, AccountStore, EndpointStore {
  constructor(private readonly c: SqliteConnection) {}

  async getSetting(key: string): Promise<string | undefined> {
    const row = this.c.sql('SELECT value FROM settings WHERE key = ?').get(key) as Row | undefined;
    return row === undefined ? undefined : str(row.value);
  }

  async initSetting(key: string, value: string): Promise<string> {
    this.c
      .sql('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING')
      .run(key, value);
    return (await this.getSetting(key))!;
  }

  async insertAccount(a: AccountRecord): Promise<void> {
    this.c
      .sql('INSERT INTO accounts (id, name, contact_email, created_at) VALUES (?, ?, ?, ?)')
      .run(a.id, a.name, a.contactEmail, a.createdAt);
  }

  async updateAccount(a: Pick<AccountRecord, 'id' | 'name' | 'contactEmail'>): Promise<boolean> {
    return (
      this.c
        .sql('UPDATE accounts SET name = ?, contact_email = ? WHERE id = ?')
        .run(a.name, a.contactEmail, a.id).changes > 0
    );
  }

  async getAccount(id: AccountId): Promise<AccountRecord | undefined> {
    const row = this.c.sql('SELECT * FROM accounts WHERE id = ?').get(id) as Row | undefined;
    return row && toAccount(row);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (this.c.sql('SELECT * FROM accounts ORDER BY id').all() as Row[]).map(toAccount);
  }

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    this.c
      .sql(
        'INSERT INTO api_keys (id, account_id, name, hash, prefix, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(k.id, k.accountId, k.name, k.hash, k.prefix, k.createdAt, k.revokedAt);
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.c.sql('SELECT * FROM api_keys WHERE hash = ?').get(hash) as Row | undefined;
    return row && toApiKey(row);
  }

  async listApiKeys(accountId: AccountId): Promise<ApiKeyRecord[]> {
    return (
      this.c.sql('SELECT * FROM api_keys WHERE account_id = ? ORDER BY id').all(accountId) as Row[]
    ).map(toApiKey);
  }

  async revokeApiKey(accountId: AccountId, id: ApiKeyId, at: number): Promise<boolean> {
    const result = this.c
      .sql(
        'UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND id = ? AND revoked_at IS NULL',
      )
      .run(at, accountId, id);
    return result.changes > 0;
  }

  async insertEndpoint(row: EndpointRow): Promise<void> {
    this.c
      .sql(
        `INSERT INTO endpoints (${ENDPOINT_COLUMNS}) VALUES (${ENDPOINT_COLUMNS.split(',')
          .map(() => '?')
          .join(', ')})`,
      )
      .run(...endpointParams(row));
  }

  async updateEndpoint(
    row: EndpointRow,
    raised: readonly OperationalEventRecord[] = [],
  ): Promise<boolean> {
    const sets = ENDPOINT_COLUMNS.split(', ')
      .filter((c) => c !== 'id')
      .map((c) => `${c} = ?`)
      .join(', ');
    const update = this.c.sql(`UPDATE endpoints SET ${sets} WHERE id = ? AND version = ?`);
    return this.c.db.transaction(() => {
      const written = update.run(...endpointParams(row), row.version - 1).changes > 0;
      if (written) insertOperationalEvents(this.c, raised);
      return written;
    })();
  }

  async getEndpoint(id: EndpointId): Promise<EndpointRow | undefined> {
    const row = this.c.sql('SELECT * FROM endpoints WHERE id = ?').get(id) as Row | undefined;
    return row && toEndpoint(row);
  }

  async findEndpointByOrigin(
    accountId: AccountId,
    origin: Origin,
  ): Promise<EndpointRow | undefined> {
    const row = this.c
      .sql('SELECT * FROM endpoints WHERE account_id = ? AND origin = ?')
      .get(accountId, origin) as Row | undefined;
    return row && toEndpoint(row);
  }

  async listEndpoints(accountId: AccountId): Promise<EndpointRow[]> {
    return (
      this.c.sql('SELECT * FROM endpoints WHERE account_id = ? ORDER BY id').all(accountId) as Row[]
    ).map(toEndpoint);
  }

  async deleteEndpoint(accountId: AccountId, id: EndpointId): Promise<boolean> {
    return this.c.db.transaction(() => {
      const result = this.c
        .sql('DELETE FROM endpoints WHERE account_id = ? AND id = ?')
        .run(accountId, id);
      if (result.changes === 0) return false;
      this.c
        .sql(
          'DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE endpoint_id = ?)',
        )
        .run(id);
      this.c.sql('DELETE FROM deliveries WHERE endpoint_id = ?').run(id);
      this.c.sql('DELETE FROM oauth_tokens WHERE endpoint_id = ?').run(id);
      this.c.sql('DELETE FROM endpoint_activity WHERE endpoint_id = ?').run(id);
      return true;
    })();
  }

  async existingEndpoints(ids: readonly EndpointId[]): Promise<EndpointId[]> {
    if (ids.length === 0) return [];
    const rows = this.c
      .sql('SELECT id FROM endpoints WHERE id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(ids)) as Row[];
    return rows.map((r) => str(r.id) as EndpointId);
  }

  async countEndpointsByState(): Promise<
    Array<{ state: EndpointState; authStatus: AuthStatus; count: number }>
  > {
    const rows = this.c
      .sql('SELECT state, auth_status, COUNT(*) AS n FROM endpoints GROUP BY state, auth_status')
      .all() as Row[];
    return rows.map((r) => ({
      state: str(r.state) as EndpointState,
      authStatus: str(r.auth_status) as AuthStatus,
      count: num(r.n),
    }));
  }
}
