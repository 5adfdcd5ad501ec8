// The store contract, endpoints part (EndpointStore): endpoint rows, their versions and the
// operational events a change raises, deleting with what hangs off an endpoint. Registered by
// storeContract (contract.ts) on every adapter.

import { describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.js';
import type { Store } from '../../src/store/port.js';
import { T0, anAccount, anEndpoint, nextVersion } from '../helpers/store.js';
import { byId, contractHelpers, runningStore, sortedIds } from './helpers.js';

export function endpointsContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, addEndpoint, ingest, oneDelivery, delivery, claimedIds, settle } =
    contractHelpers(store);

  // ---- endpoints -----------------------------------------------------------------------

  describe('endpoints', () => {
    it('stores every field of an endpoint row exactly', async () => {
      const account = anAccount();
      await store.insertAccount(account);
      const row = anEndpoint(account.id, T0, {
        origin: 'salesforceOauth2',
        url: 'https://example.my.salesforce.com/services/apexrest/callback',
        events: ['PACKAGE_COMPLETE', 'PACKAGE_DECLINE'],
        description: 'Salesforce org',
        authType: 'OAUTH2',
        authStatus: 'unverified',
        oauth: {
          flavor: 'salesforce',
          grantType: 'REFRESH_TOKEN',
          tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
          clientId: 'client-1',
          scope: 'api refresh_token',
          authMechanism: 'BODY',
          customParameters: [{ key: 'audience', value: 'x' }],
        },
        secretsCiphertext: 'v1:iv:ciphertext:tag',
        customHeaders: [{ key: 'X-Tenant', value: 'acme' }],
        options: {
          timeoutMs: 5000,
          maxConcurrency: 4,
          rateLimit: 10,
          ordering: 'package',
          retrySchedule: [1000, 60_000, 3_600_000],
        },
        state: 'disabled',
        disabledReason: 'too many failures',
        failingSince: T0 - 1000,
        createdAt: T0 - 5000,
        updatedAt: T0,
        version: 7,
      });
      await store.insertEndpoint(row);
      expect(await store.getEndpoint(row.id)).toEqual(row);
      expect(await store.getEndpoint(anEndpoint(account.id).id)).toBeUndefined();
    });

    it('stores the default endpoint row exactly', async () => {
      const { endpoint } = await anAccountWithEndpoint();
      expect(await store.getEndpoint(endpoint.id)).toEqual(endpoint);
    });

    it('finds an endpoint by origin within its account only', async () => {
      const { account: a, endpoint: aDefault } = await anAccountWithEndpoint(T0, {
        origin: 'default',
      });
      const { account: b, endpoint: bDefault } = await anAccountWithEndpoint(T0, {
        origin: 'default',
      });
      const aDynamics = await addEndpoint(a.id, T0, { origin: 'dynamics' });
      await addEndpoint(a.id, T0); // native, no origin

      expect(await store.findEndpointByOrigin(a.id, 'default')).toEqual(aDefault);
      expect(await store.findEndpointByOrigin(b.id, 'default')).toEqual(bDefault);
      expect(await store.findEndpointByOrigin(a.id, 'dynamics')).toEqual(aDynamics);
      expect(await store.findEndpointByOrigin(b.id, 'dynamics')).toBeUndefined();
      expect(await store.findEndpointByOrigin(a.id, 'sharepoint')).toBeUndefined();
    });

    it('lists the endpoints of one account only', async () => {
      const { account: a, endpoint: a1 } = await anAccountWithEndpoint();
      const a2 = await addEndpoint(a.id, T0 + 1, { url: 'https://two.example.com/' });
      const { account: b, endpoint: b1 } = await anAccountWithEndpoint();
      expect(byId(await store.listEndpoints(a.id))).toEqual(byId([a1, a2]));
      expect(await store.listEndpoints(b.id)).toEqual([b1]);
      expect(await store.listEndpoints(anAccount().id)).toEqual([]);
    });

    it('updates an endpoint when the version is the previous one plus one', async () => {
      const { endpoint } = await anAccountWithEndpoint();
      const v2 = nextVersion(endpoint, T0 + 10, {
        url: 'https://moved.example.com/hook',
        events: ['PACKAGE_CREATE'],
        state: 'disabled',
        disabledReason: 'by user',
        secretsCiphertext: 'v1:new',
        options: { ...endpoint.options, ordering: 'package', retrySchedule: [5, 10] },
      });
      expect(await store.updateEndpoint(v2)).toBe(true);
      expect(await store.getEndpoint(endpoint.id)).toEqual(v2);
      const v3 = nextVersion(v2, T0 + 20, { state: 'enabled', disabledReason: null });
      expect(await store.updateEndpoint(v3)).toBe(true);
      expect(await store.getEndpoint(endpoint.id)).toEqual(v3);
    });

    it('rejects a stale update and changes nothing', async () => {
      const { endpoint } = await anAccountWithEndpoint();
      const mine = nextVersion(endpoint, T0 + 10, { url: 'https://mine.example.com/' });
      const theirs = nextVersion(endpoint, T0 + 11, { url: 'https://theirs.example.com/' });
      expect(await store.updateEndpoint(mine)).toBe(true);
      expect(await store.updateEndpoint(theirs)).toBe(false);
      expect(await store.getEndpoint(endpoint.id)).toEqual(mine);
    });

    it('rejects an update that skips a version or repeats the current one', async () => {
      const { endpoint } = await anAccountWithEndpoint();
      const skipping = { ...nextVersion(endpoint, T0 + 10, { url: 'https://x/' }), version: 3 };
      const same = { ...endpoint, url: 'https://y/', version: endpoint.version };
      expect(await store.updateEndpoint(skipping)).toBe(false);
      expect(await store.updateEndpoint(same)).toBe(false);
      expect(await store.getEndpoint(endpoint.id)).toEqual(endpoint);
    });

    it('does not update an endpoint that does not exist', async () => {
      const account = anAccount();
      await store.insertAccount(account);
      const ghost = nextVersion(anEndpoint(account.id), T0 + 1);
      expect(await store.updateEndpoint(ghost)).toBe(false);
      expect(await store.getEndpoint(ghost.id)).toBeUndefined();
    });

    it('deletes an endpoint with its deliveries and their attempts, and nothing else', async () => {
      const { account, endpoint: gone } = await anAccountWithEndpoint();
      const kept = await addEndpoint(account.id);
      const built = await ingest({
        accountId: account.id,
        endpoints: [gone.id, kept.id],
        receivedAt: T0 + 100,
        count: 2,
      });
      const goneIds = built.deliveries.filter((d) => d.endpointId === gone.id).map((d) => d.id);
      const keptIds = built.deliveries.filter((d) => d.endpointId === kept.id).map((d) => d.id);
      await settle(built.ids, 'pending', T0 + 200); // one attempt each

      expect(await store.deleteEndpoint(account.id, gone.id)).toBe(true);
      expect(await store.getEndpoint(gone.id)).toBeUndefined();
      for (const id of goneIds) {
        expect(await store.getDelivery(account.id, id)).toBeUndefined();
        expect(await store.listAttempts(id)).toEqual([]);
      }
      for (const id of keptIds) {
        expect((await delivery(account.id, id)).endpointId).toBe(kept.id);
        expect(await store.listAttempts(id)).toHaveLength(1);
      }
      const page = await store.listDeliveries({ accountId: account.id }, null, 100);
      expect(sortedIds(page.data)).toEqual([...keptIds].sort());
      expect((await claimedIds(T0 + 1_000_000)).sort()).toEqual([...keptIds].sort());
      expect(await store.getEndpoint(kept.id)).toEqual(kept);
      expect(await store.deleteEndpoint(account.id, gone.id)).toBe(false);
    });

    it('does not let another account delete an endpoint', async () => {
      const { account, endpoint } = await anAccountWithEndpoint();
      const other = anAccount();
      await store.insertAccount(other);
      const id = await oneDelivery({
        accountId: account.id,
        endpoints: [endpoint.id],
        receivedAt: T0 + 100,
      });
      expect(await store.deleteEndpoint(other.id, endpoint.id)).toBe(false);
      expect(await store.getEndpoint(endpoint.id)).toEqual(endpoint);
      expect((await delivery(account.id, id)).status).toBe('pending');
    });

    it('says which endpoints of a list still exist, across accounts', async () => {
      const { account, endpoint: kept } = await anAccountWithEndpoint();
      const gone = await addEndpoint(account.id);
      const { endpoint: another } = await anAccountWithEndpoint();
      expect(await store.deleteEndpoint(account.id, gone.id)).toBe(true);
      const never = newId('endpoint');
      const found = await store.existingEndpoints([kept.id, gone.id, another.id, never]);
      expect([...found].sort()).toEqual([kept.id, another.id].sort());
      expect(await store.existingEndpoints([])).toEqual([]);
    });

    it('counts endpoints by state and auth status across accounts', async () => {
      expect(await store.countEndpointsByState()).toEqual([]);
      const { account: a } = await anAccountWithEndpoint();
      await addEndpoint(a.id, T0, { state: 'disabled', disabledReason: 'x' });
      await addEndpoint(a.id, T0, { authStatus: 'reauthorization_required' });
      const { account: b } = await anAccountWithEndpoint();
      await addEndpoint(b.id, T0, { state: 'disabled', disabledReason: 'y' });
      await addEndpoint(b.id, T0, { state: 'disabled', authStatus: 'unverified' });

      const key = (r: { state: string; authStatus: string }): string =>
        `${r.state}/${r.authStatus}`;
      const counts = [...(await store.countEndpointsByState())].sort((x, y) =>
        key(x).localeCompare(key(y)),
      );
      expect(counts).toEqual([
        { state: 'disabled', authStatus: 'ok', count: 2 },
        { state: 'disabled', authStatus: 'unverified', count: 1 },
        { state: 'enabled', authStatus: 'ok', count: 2 },
        { state: 'enabled', authStatus: 'reauthorization_required', count: 1 },
      ]);
    });
  });
}
