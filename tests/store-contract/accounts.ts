// The store contract, accounts part (SettingsStore, AccountStore): server-wide settings,
// accounts and their API keys. Registered by storeContract (contract.ts) on every adapter.

import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/port.js';
import { T0, anAccount, anApiKey } from '../helpers/store.js';
import { byId, runningStore } from './helpers.js';

export function accountsContract(current: () => Store): void {
  const store = runningStore(current);

  // ---- settings ------------------------------------------------------------------------

  describe('settings', () => {
    it('returns undefined for a setting never set', async () => {
      expect(await store.getSetting('master_key_check')).toBeUndefined();
    });

    it('initSetting stores the first value and keeps it', async () => {
      expect(await store.initSetting('master_key_check', 'first')).toBe('first');
      expect(await store.initSetting('master_key_check', 'second')).toBe('first');
      expect(await store.getSetting('master_key_check')).toBe('first');
      expect(await store.initSetting('other', 'x')).toBe('x');
      expect(await store.getSetting('other')).toBe('x');
      expect(await store.getSetting('master_key_check')).toBe('first');
    });
  });

  // ---- accounts and API keys -----------------------------------------------------------

  describe('accounts', () => {
    it('inserts, gets and lists accounts', async () => {
      const a = anAccount(T0);
      const b = anAccount(T0 + 1, { name: 'Globex', contactEmail: null });
      await store.insertAccount(a);
      await store.insertAccount(b);
      expect(await store.getAccount(a.id)).toEqual(a);
      expect(await store.getAccount(b.id)).toEqual(b);
      expect(await store.getAccount(anAccount(T0).id)).toBeUndefined();
      expect(byId(await store.listAccounts())).toEqual(byId([a, b]));
    });

    it("changes an account's name and contact email, and only that account's", async () => {
      const a = anAccount(T0);
      const b = anAccount(T0 + 1);
      await store.insertAccount(a);
      await store.insertAccount(b);
      expect(await store.updateAccount({ id: a.id, name: 'Acme Corp', contactEmail: null })).toBe(
        true,
      );
      expect(await store.getAccount(a.id)).toEqual({
        ...a,
        name: 'Acme Corp',
        contactEmail: null,
      });
      expect(await store.getAccount(b.id)).toEqual(b);
      const missing = anAccount(T0 + 2);
      expect(await store.updateAccount({ id: missing.id, name: 'x', contactEmail: null })).toBe(
        false,
      );
    });

    it('lists no accounts in an empty store', async () => {
      expect(await store.listAccounts()).toEqual([]);
    });
  });

  describe('API keys', () => {
    it('finds a key by its hash and lists the keys of one account only', async () => {
      const a = anAccount(T0);
      const b = anAccount(T0);
      await store.insertAccount(a);
      await store.insertAccount(b);
      const k1 = anApiKey(a.id, T0);
      const k2 = anApiKey(a.id, T0 + 1, { name: 'ci' });
      const k3 = anApiKey(b.id, T0 + 2);
      for (const k of [k1, k2, k3]) await store.insertApiKey(k);

      expect(await store.findApiKeyByHash(k2.hash)).toEqual(k2);
      expect(await store.findApiKeyByHash(k3.hash)).toEqual(k3);
      expect(await store.findApiKeyByHash('0'.repeat(64))).toBeUndefined();
      expect(byId(await store.listApiKeys(a.id))).toEqual(byId([k1, k2]));
      expect(await store.listApiKeys(b.id)).toEqual([k3]);
      expect(await store.listApiKeys(anAccount().id)).toEqual([]);
    });

    it('revokes a key once: true, then false, keeping the first revocation time', async () => {
      const a = anAccount(T0);
      await store.insertAccount(a);
      const key = anApiKey(a.id, T0);
      const other = anApiKey(a.id, T0);
      await store.insertApiKey(key);
      await store.insertApiKey(other);

      expect(await store.revokeApiKey(a.id, key.id, T0 + 100)).toBe(true);
      expect(await store.revokeApiKey(a.id, key.id, T0 + 200)).toBe(false);
      expect(await store.findApiKeyByHash(key.hash)).toEqual({ ...key, revokedAt: T0 + 100 });
      expect(await store.findApiKeyByHash(other.hash)).toEqual(other);
      const listed = await store.listApiKeys(a.id);
      expect(listed.find((k) => k.id === key.id)?.revokedAt).toBe(T0 + 100);
    });

    it('does not revoke another account’s key or an unknown key', async () => {
      const a = anAccount(T0);
      const b = anAccount(T0);
      await store.insertAccount(a);
      await store.insertAccount(b);
      const key = anApiKey(a.id, T0);
      await store.insertApiKey(key);

      expect(await store.revokeApiKey(b.id, key.id, T0 + 100)).toBe(false);
      expect(await store.revokeApiKey(a.id, anApiKey(a.id).id, T0 + 100)).toBe(false);
      expect(await store.findApiKeyByHash(key.hash)).toEqual(key);
    });
  });
}
