// Server-wide settings, accounts and their API keys.

import type { AccountId, ApiKeyId } from '../../domain/ids.js';

export interface AccountRecord {
  readonly id: AccountId;
  readonly name: string;
  readonly contactEmail: string | null;
  readonly createdAt: number;
}

export interface ApiKeyRecord {
  readonly id: ApiKeyId;
  readonly accountId: AccountId;
  readonly name: string;
  /** SHA-256 of the key, hex. The key itself is never stored. */
  readonly hash: string;
  /** The first characters of the key, to recognise it in a list. */
  readonly prefix: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** Server-wide settings (for example the check value of the master key). */
export interface SettingsStore {
  getSetting(key: string): Promise<string | undefined>;
  /** Sets the value only if the key has none; returns the value now stored. */
  initSetting(key: string, value: string): Promise<string>;
}

export interface AccountStore {
  insertAccount(account: AccountRecord): Promise<void>;
  getAccount(id: AccountId): Promise<AccountRecord | undefined>;
  /** Writes an account's name and contact email; false when there is no such account. */
  updateAccount(account: Pick<AccountRecord, 'id' | 'name' | 'contactEmail'>): Promise<boolean>;
  listAccounts(): Promise<AccountRecord[]>;
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(accountId: AccountId): Promise<ApiKeyRecord[]>;
  revokeApiKey(accountId: AccountId, id: ApiKeyId, at: number): Promise<boolean>;
}
