// Accounts and their API keys. Keys are random, shown once, stored only as SHA-256 hashes, and
// accepted as `Bearer <key>` or OneSpan's `Basic <key>` (the raw key).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, NotFoundError, ValidationError } from '../errors.js';
import { newId, type AccountId, type ApiKeyId } from '../domain/ids.js';
import { ExpiringCache } from './expiring-cache.js';
import type { AccountRecord, AccountStore, ApiKeyRecord, SettingsStore } from '../store/port.js';

export type Principal =
  { readonly kind: 'account'; readonly accountId: AccountId } | { readonly kind: 'admin' };

const DEFAULT_ACCOUNT_SETTING = 'default_account_id';
const ENV_KEY_NAME = 'HERALD_API_KEY';
const CACHE_TTL_MS = 5000;
const CACHE_MAX = 10_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): string {
  return `hrd_${randomBytes(24).toString('base64url')}`;
}

/** Extracts the key from `Bearer <key>` or `Basic <key>`. */
export function keyFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(Bearer|Basic)\s+(\S+)\s*$/i.exec(header);
  return match?.[2];
}

export interface PublicApiKey {
  readonly id: ApiKeyId;
  readonly name: string;
  readonly prefix: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

function publicKey(k: ApiKeyRecord): PublicApiKey {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
  };
}

export class AccountService {
  private readonly principals: ExpiringCache<string, Principal | null>;
  private readonly adminHash: Buffer | null;

  constructor(
    private readonly store: SettingsStore & AccountStore,
    private readonly clock: () => number,
    adminKey: string | null,
  ) {
    this.adminHash = adminKey ? Buffer.from(hashKey(adminKey), 'hex') : null;
    this.principals = new ExpiringCache(CACHE_TTL_MS, clock, CACHE_MAX);
  }

  /**
   * Makes sure the default account exists and has a key: HERALD_API_KEY when given (replacing a
   * previous HERALD_API_KEY), otherwise a generated one on first start, returned to be shown once.
   */
  async bootstrap(
    apiKey: string | null,
  ): Promise<{ account: AccountRecord; generatedKey: string | null }> {
    const now = this.clock();
    const candidate = newId('account', now);
    const id = (await this.store.initSetting(DEFAULT_ACCOUNT_SETTING, candidate)) as AccountId;
    let account = await this.store.getAccount(id);
    if (!account) {
      account = { id, name: 'default', contactEmail: null, createdAt: now };
      await this.store.insertAccount(account);
    }
    const keys = await this.store.listApiKeys(id);
    if (apiKey) {
      const hash = hashKey(apiKey);
      for (const k of keys) {
        if (k.name === ENV_KEY_NAME && k.revokedAt === null && k.hash !== hash) {
          await this.store.revokeApiKey(id, k.id, now);
        }
      }
      const existing = await this.store.findApiKeyByHash(hash);
      if (existing && existing.accountId !== id) {
        throw new ValidationError('conflict', 'HERALD_API_KEY is already a key of another account');
      }
      if (!existing) await this.insertKey(id, ENV_KEY_NAME, apiKey);
      return { account, generatedKey: null };
    }
    if (keys.some((k) => k.revokedAt === null)) return { account, generatedKey: null };
    const generated = generateApiKey();
    await this.insertKey(id, 'generated on first start', generated);
    return { account, generatedKey: generated };
  }

  async defaultAccountId(): Promise<AccountId | undefined> {
    return (await this.store.getSetting(DEFAULT_ACCOUNT_SETTING)) as AccountId | undefined;
  }

  /** Resolves an Authorization header to a principal, or throws a 401. */
  async authenticate(header: string | undefined): Promise<Principal> {
    const key = keyFromAuthorization(header);
    if (!key) {
      throw new AuthError(
        'unauthorized',
        'Send your API key as `Authorization: Bearer <key>` (or `Basic <key>`)',
      );
    }
    const principal = await this.principalOfHash(hashKey(key));
    if (!principal) throw new AuthError('unauthorized', 'The API key is not valid');
    return principal;
  }

  /**
   * The principal of a key known by its hash, or null when no valid key has it (revoked keys
   * included): how the console checks, on every request, that a session's key still counts.
   */
  principalOfHash(hash: string): Promise<Principal | null> {
    return this.principals.get(hash, () => this.lookup(hash));
  }

  private async lookup(hash: string): Promise<Principal | null> {
    const candidate = Buffer.from(hash, 'hex');
    if (this.adminHash && timingSafeEqual(candidate, this.adminHash)) return { kind: 'admin' };
    const record = await this.store.findApiKeyByHash(hash);
    if (!record || record.revokedAt !== null) return null;
    return { kind: 'account', accountId: record.accountId };
  }

  async createAccount(name: string, contactEmail: string | null): Promise<AccountRecord> {
    const now = this.clock();
    const account: AccountRecord = {
      id: newId('account', now),
      name,
      contactEmail,
      createdAt: now,
    };
    await this.store.insertAccount(account);
    return account;
  }

  async getAccount(id: AccountId): Promise<AccountRecord> {
    const account = await this.store.getAccount(id);
    if (!account) throw new NotFoundError('Account', id);
    return account;
  }

  /** Renames an account or changes its contact email (who is told when deliveries fail). */
  async updateAccount(
    id: AccountId,
    changes: { readonly name?: string; readonly contactEmail?: string | null },
  ): Promise<AccountRecord> {
    const account = await this.getAccount(id);
    const next = {
      ...account,
      name: changes.name ?? account.name,
      contactEmail:
        changes.contactEmail === undefined ? account.contactEmail : changes.contactEmail,
    };
    if (!(await this.store.updateAccount(next))) throw new NotFoundError('Account', id);
    return next;
  }

  /** Sets (or with null removes) the address that alert emails go to. */
  setContactEmail(id: AccountId, contactEmail: string | null): Promise<AccountRecord> {
    return this.updateAccount(id, { contactEmail });
  }

  listAccounts(): Promise<AccountRecord[]> {
    return this.store.listAccounts();
  }

  /** Creates a key; the returned `key` is shown once and never again. */
  async createApiKey(accountId: AccountId, name: string): Promise<PublicApiKey & { key: string }> {
    await this.getAccount(accountId);
    const key = generateApiKey();
    const record = await this.insertKey(accountId, name, key);
    return { ...publicKey(record), key };
  }

  async listApiKeys(accountId: AccountId): Promise<PublicApiKey[]> {
    await this.getAccount(accountId);
    return (await this.store.listApiKeys(accountId)).map(publicKey);
  }

  async revokeApiKey(accountId: AccountId, id: ApiKeyId): Promise<void> {
    const keys = await this.store.listApiKeys(accountId);
    const key = keys.find((k) => k.id === id);
    if (!key) throw new NotFoundError('API key', id);
    await this.store.revokeApiKey(accountId, id, this.clock());
    this.principals.forget(key.hash);
  }

  private async insertKey(accountId: AccountId, name: string, key: string): Promise<ApiKeyRecord> {
    const record: ApiKeyRecord = {
      id: newId('apiKey', this.clock()),
      accountId,
      name,
      hash: hashKey(key),
      prefix: key.slice(0, 8),
      createdAt: this.clock(),
      revokedAt: null,
    };
    await this.store.insertApiKey(record);
    return record;
  }
}
