// The store contract, copy part (CopyStore): exporting the unfinished work, and importCopy, what
// `herald copy-store` writes into the new store. One transaction: a copy that fails half-way (a write, or reading its next page) leaves the store
// as empty as it was, and the same copy then runs again. Called from contract.ts on every adapter.

import { beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.js';
import type { AccountId, EndpointId } from '../../src/domain/ids.js';
import type { Store, StoreCopy, TokenRecord, WorkItem } from '../../src/store/port.js';
import { T0, aClaim, aResult, anAccount, anApiKey, anEndpoint } from '../helpers/store.js';
import { contractHelpers, runningStore } from './helpers.js';

/** `count` events to one endpoint, each with one pending delivery, as exportWork gives them. */
function work(accountId: AccountId, endpointId: EndpointId, count: number, at: number): WorkItem[] {
  return Array.from({ length: count }, (_, i) => {
    const eventId = newId('event', at + i);
    return {
      event: {
        id: eventId,
        accountId,
        name: 'PACKAGE_COMPLETE',
        packageId: `pkg-${i}`,
        payload: JSON.stringify({ name: 'PACKAGE_COMPLETE', packageId: `pkg-${i}` }),
        receivedAt: at + i,
      },
      deliveries: [
        {
          id: newId('delivery', at + i),
          eventId,
          endpointId,
          accountId,
          eventName: 'PACKAGE_COMPLETE',
          status: 'failed' as const,
          attempts: 3,
          cycleAttempts: 3,
          nextAttemptAt: null,
          lastStatusCode: 503,
          lastError: 'HTTP 503',
          createdAt: at + i,
          updatedAt: at + i + 1,
          orderingKey: null,
        },
      ],
    };
  });
}

/** A deployment of one account whose work comes in `pages`; `failAt` makes that page throw. */
function deployment(pages: number, failAt?: number) {
  const account = anAccount(T0);
  const key = anApiKey(account.id, T0);
  const endpoint = anEndpoint(account.id, T0);
  const token: TokenRecord = {
    endpointId: endpoint.id,
    credentialKey: 'cred-1',
    generation: 4,
    accessTokenCiphertext: 'at-4',
    refreshTokenCiphertext: 'rt-4',
    expiresAt: null,
    refreshAt: null,
    instanceUrl: 'https://org.example',
    deadReason: null,
    deadKey: null,
    updatedAt: T0,
  };
  const all = Array.from({ length: pages }, (_, p) =>
    work(account.id, endpoint.id, 3, T0 + 100 * (p + 1)),
  );
  const copy = (): StoreCopy => {
    let page = 0;
    return {
      settings: [['master_key_check', 'sealed-check']],
      accounts: [account],
      apiKeys: [key],
      endpoints: [endpoint],
      tokens: [token],
      nextWork: async () => {
        if (page === failAt) throw new Error('the source went away');
        return all[page++] ?? [];
      },
    };
  };
  return { account, key, endpoint, token, copy, events: all.flat() };
}

function importCopyContract(current: () => Store): void {
  describe('importCopy', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    async function holdings() {
      const accounts = await store.listAccounts();
      const deliveries = accounts.length
        ? (await store.listDeliveries({ accountId: accounts[0]!.id }, null, 500)).data.length
        : 0;
      return { accounts: accounts.length, deliveries };
    }

    it('writes a whole deployment: settings, accounts, keys, endpoints, tokens, work', async () => {
      const d = deployment(2);
      await store.importCopy(d.copy());
      expect(await store.getSetting('master_key_check')).toBe('sealed-check');
      expect(await store.getAccount(d.account.id)).toEqual(d.account);
      expect(await store.findApiKeyByHash(d.key.hash)).toEqual(d.key);
      expect(await store.getEndpoint(d.endpoint.id)).toEqual(d.endpoint);
      expect(await store.getToken(d.endpoint.id)).toEqual(d.token);
      const page = await store.listDeliveries({ accountId: d.account.id }, null, 100);
      expect(page.data).toHaveLength(6);
      expect(page.data.every((r) => r.status === 'failed' && r.attempts === 3)).toBe(true);
      expect(await store.getEvent(d.account.id, d.events[5]!.event.id)).toEqual(d.events[5]!.event);
    });

    it('leaves the store as it was when the copy fails half-way, and runs again after', async () => {
      const failing = deployment(3, 2);
      await expect(store.importCopy(failing.copy())).rejects.toThrow('the source went away');
      expect(await holdings()).toEqual({ accounts: 0, deliveries: 0 });
      expect(await store.getSetting('master_key_check')).toBeUndefined();
      expect(await store.getToken(failing.endpoint.id)).toBeUndefined();
      expect(await store.getEvent(failing.account.id, failing.events[0]!.event.id)).toBeUndefined();
      // The store still works, and the same copy goes through.
      await store.importCopy(deployment(3).copy());
      expect(await holdings()).toEqual({ accounts: 1, deliveries: 9 });
    });

    it('leaves the store as it was when a write fails', async () => {
      const d = deployment(1);
      const duplicate = d.copy();
      await expect(store.importCopy({ ...duplicate, apiKeys: [d.key, d.key] })).rejects.toThrow();
      expect(await holdings()).toEqual({ accounts: 0, deliveries: 0 });
    });

    it('refuses a store that already holds accounts, changing nothing', async () => {
      const existing = anAccount(T0);
      await store.insertAccount(existing);
      const d = deployment(1);
      await expect(store.importCopy(d.copy())).rejects.toThrow(/already holds accounts/);
      expect(await store.listAccounts()).toEqual([existing]);
      expect(await store.getSetting('master_key_check')).toBeUndefined();
    });
  });
}

export function copyContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, ingest } = contractHelpers(store);

  describe('moving work between stores', () => {
    beforeEach(async () => {
      await store.migrate();
    });

    it('exports events with unfinished deliveries in id order and imports them back as they were', async () => {
      const { account, endpoint } = await anAccountWithEndpoint();
      const built = await ingest({
        accountId: account.id,
        endpoints: [endpoint.id],
        receivedAt: T0,
        count: 5,
      });
      const [first] = await store.claimDeliveries(aClaim(T0 + 1, 'worker-1', { limit: 1 }));
      await store.recordResults([aResult(first!.id, 'worker-1', 'succeeded', T0 + 2)]);
      const exported = await store.exportWork(null, 2);
      expect(exported).toHaveLength(2);
      const rest = await store.exportWork(exported.at(-1)!.event.id, 10);
      expect(rest).toHaveLength(2);
      const all = [...exported, ...rest];
      expect(all.map((w) => w.event.id)).toEqual([...all.map((w) => w.event.id)].sort());
      expect(
        all.every((w) => w.deliveries.length === 1 && w.deliveries[0]!.status === 'pending'),
      ).toBe(true);
      expect(all.map((w) => w.event.id)).not.toContain(first!.eventId);
      expect(built.events).toHaveLength(5);
    });

    importCopyContract(() => store);
  });
}
