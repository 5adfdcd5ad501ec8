// PostgreSQL's accounts, API keys, settings and endpoints (SettingsStore, AccountStore,
// EndpointStore).

import type { AuthStatus, EndpointState, Origin } from '../../domain/endpoint.js';
import type { AccountId, ApiKeyId, EndpointId } from '../../domain/ids.js';
import type { PostgresContext } from './context.js';
import { insertAccount, insertApiKey, insertEndpoint } from './inserts.js';
import { insertOperationalEvents } from './operations.js';
import {
  ENDPOINT_COLUMNS,
  endpointParams,
  num,
  str,
  toAccount,
  toApiKey,
  toEndpoint,
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

export class PostgresEndpoints implements SettingsStore, AccountStore, EndpointStore {
  constructor(private readonly c: PostgresContext) {}

  async getSetting(key: string): Promise<string | undefined> {
    const rows = await this.c.query('SELECT value FROM settings WHERE key = $1', [key]);
    return rows[0] === undefined ? undefined : str(rows[0].value);
  }

  async initSetting(key: string, value: string): Promise<string> {
    await this.c.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
      [key, value],
    );
    return (await this.getSetting(key))!;
  }

  async insertAccount(a: AccountRecord): Promise<void> {
    await insertAccount(this.c.connections, a);
  }

  async updateAccount(a: Pick<AccountRecord, 'id' | 'name' | 'contactEmail'>): Promise<boolean> {
    const result = await this.c.connections.query(
      'UPDATE accounts SET name = $1, contact_email = $2 WHERE id = $3',
      [a.name, a.contactEmail, a.id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async getAccount(id: AccountId): Promise<AccountRecord | undefined> {
    const rows = await this.c.query('SELECT * FROM accounts WHERE id = $1', [id]);
    return rows[0] && toAccount(rows[0]);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.c.query('SELECT * FROM accounts ORDER BY id')).map(toAccount);
  }

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    await insertApiKey(this.c.connections, k);
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.c.query('SELECT * FROM api_keys WHERE hash = $1', [hash]);
    return rows[0] && toApiKey(rows[0]);
  }

  async listApiKeys(accountId: AccountId): Promise<ApiKeyRecord[]> {
    return (
      await this.c.query('SELECT * FROM api_keys WHERE account_id = $1 ORDER BY id', [accountId])
    ).map(toApiKey);
  }

  async revokeApiKey(accountId: AccountId, id: ApiKeyId, at: number): Promise<boolean> {
    const result = await this.c.connections.query(
      'UPDATE api_keys SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL',
      [at, accountId, id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async insertEndpoint(row: EndpointRow): Promise<void> {
    await insertEndpoint(this.c.connections, row);
  }

  async updateEndpoint(
    row: EndpointRow,
    raised: readonly OperationalEventRecord[] = [],
  ): Promise<boolean> {
    const sets = ENDPOINT_COLUMNS.split(', ')
      .filter((c) => c !== 'id')
      .map((c, i) => `${c} = $${i + 1}`)
      .join(', ');
    const text = `UPDATE endpoints SET ${sets} WHERE id = $18 AND version = $19`;
    const values = [...endpointParams(row), row.version - 1];
    if (raised.length === 0) {
      return ((await this.c.connections.query(text, values)).rowCount ?? 0) > 0;
    }
    return this.c.transaction(async (client) => {
      const written = ((await client.query(text, values)).rowCount ?? 0) > 0;
      if (written) await insertOperationalEvents(client, raised);
      return written;
    });
  }

  async getEndpoint(id: EndpointId): Promise<EndpointRow | undefined> {
    const rows = await this.c.query('SELECT * FROM endpoints WHERE id = $1', [id]);
    return rows[0] && toEndpoint(rows[0]);
  }

  async findEndpointByOrigin(
    accountId: AccountId,
    origin: Origin,
  ): Promise<EndpointRow | undefined> {
    const rows = await this.c.query(
      'SELECT * FROM endpoints WHERE account_id = $1 AND origin = $2',
      [accountId, origin],
    );
    return rows[0] && toEndpoint(rows[0]);
  }

  async listEndpoints(accountId: AccountId): Promise<EndpointRow[]> {
    return (
      await this.c.query('SELECT * FROM endpoints WHERE account_id = $1 ORDER BY id', [accountId])
    ).map(toEndpoint);
  }

  async deleteEndpoint(accountId: AccountId, id: EndpointId): Promise<boolean> {
    return this.c.transaction(async (client) => {
      const result = await client.query('DELETE FROM endpoints WHERE account_id = $1 AND id = $2', [
        accountId,
        id,
      ]);
      if ((result.rowCount ?? 0) === 0) return false;
      await client.query(
        'DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE endpoint_id = $1)',
        [id],
      );
      await client.query('DELETE FROM deliveries WHERE endpoint_id = $1', [id]);
      await client.query('DELETE FROM oauth_tokens WHERE endpoint_id = $1', [id]);
      await client.query('DELETE FROM endpoint_activity WHERE endpoint_id = $1', [id]);
      return true;
    });
  }

  async existingEndpoints(ids: readonly EndpointId[]): Promise<EndpointId[]> {
    if (ids.length === 0) return [];
    const rows = await this.c.query('SELECT id FROM endpoints WHERE id = ANY($1::text[])', [ids]);
    return rows.map((r) => str(r.id) as EndpointId);
  }

  async countEndpointsByState(): Promise<
    Array<{ state: EndpointState; authStatus: AuthStatus; count: number }>
  > {
    const rows = await this.c.query(
      'SELECT state, auth_status, COUNT(*)::int AS n FROM endpoints GROUP BY state, auth_status',
    );
    return rows.map((r) => ({
      state: str(r.state) as EndpointState,
      authStatus: str(r.auth_status) as AuthStatus,
      count: num(r.n),
    }));
  }
}
