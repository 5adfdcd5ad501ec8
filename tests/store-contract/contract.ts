// The store contract: what every `Store` adapter must do, written against store/port.ts only.
// Each adapter's test file calls `storeContract` with a factory for a fresh, empty store; the
// suite migrates it itself. Times are explicit (`T0` + offsets), never the wall clock.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.js';
import type { AccountId, DeliveryId, EndpointId, EventId } from '../../src/domain/ids.js';
import type {
  AccountRecord,
  ClaimedDelivery,
  DeliveryFilter,
  DeliveryRecord,
  DeliveryResult,
  EndpointRow,
  OperationalEventRecord,
  Store,
  TokenRecord,
} from '../../src/store/port.js';
import {
  T0,
  aClaim,
  aResult,
  anAccount,
  anApiKey,
  anAttempt,
  anEndpoint,
  anIngestBatch,
  anOperationalEvent,
  nextVersion,
  settleDeliveries,
} from '../helpers/store.js';
import type { BatchSpec, BuiltBatch } from '../helpers/store.js';
import { consoleQueriesContract } from './console-queries.js';
import { copyContract } from './copy.js';
import { operationsContract } from './operations.js';
import { transitionsContract } from './transitions.js';

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const byId = <T extends { readonly id: string }>(items: readonly T[]): T[] =>
  [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const idsOf = (items: readonly { readonly id: string }[]): string[] => items.map((i) => i.id);
const sortedIds = (items: readonly { readonly id: string }[]): string[] => idsOf(items).sort();

export function storeContract(name: string, makeStore: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup();
    });

    // ---- helpers over the port -------------------------------------------------------------

    async function anAccountWithEndpoint(
      now: number = T0,
      endpoint: Partial<EndpointRow> = {},
    ): Promise<{ account: AccountRecord; endpoint: EndpointRow }> {
      const account = anAccount(now);
      await store.insertAccount(account);
      const row = anEndpoint(account.id, now, endpoint);
      await store.insertEndpoint(row);
      return { account, endpoint: row };
    }

    async function addEndpoint(
      accountId: AccountId,
      now: number = T0,
      overrides: Partial<EndpointRow> = {},
    ): Promise<EndpointRow> {
      const row = anEndpoint(accountId, now, overrides);
      await store.insertEndpoint(row);
      return row;
    }

    async function ingest(spec: BatchSpec): Promise<BuiltBatch> {
      const built = anIngestBatch(spec);
      expect(await store.ingest([built.batch])).toEqual([{ kind: 'inserted' }]);
      return built;
    }

    /** Ingests one event to one endpoint and returns its delivery id. */
    async function oneDelivery(spec: BatchSpec): Promise<DeliveryId> {
      const built = await ingest(spec);
      expect(built.ids).toHaveLength(1);
      return built.ids[0]!;
    }

    async function delivery(accountId: AccountId, id: DeliveryId): Promise<DeliveryRecord> {
      const found = await store.getDelivery(accountId, id);
      if (!found) throw new Error(`delivery ${id} not found`);
      return found;
    }

    async function claimedIds(now: number, owner = 'worker-1', limit = 100): Promise<string[]> {
      return idsOf(await store.claimDeliveries(aClaim(now, owner, { limit })));
    }

    const settle = (
      ids: readonly DeliveryId[],
      status: DeliveryResult['status'],
      at: number,
      overrides: Partial<DeliveryResult> = {},
    ): Promise<void> => settleDeliveries(store, ids, status, at, overrides);

    // ---- migrations ------------------------------------------------------------------------

    describe('migrate', () => {
      it('applies every migration to a fresh store and reports them', async () => {
        const report = await store.migrate();
        expect(report.from).toBe(0);
        expect(report.to).toBeGreaterThan(0);
        expect(report.applied).toHaveLength(report.to - report.from);
        for (const migration of report.applied) expect(migration).toMatch(/^\d{4}_[a-z0-9_]+$/);
      });

      it('is idempotent: a second run applies nothing and keeps the data', async () => {
        const first = await store.migrate();
        const account = anAccount();
        await store.insertAccount(account);
        const second = await store.migrate();
        expect(second).toEqual({ from: first.to, to: first.to, applied: [] });
        expect(await store.getAccount(account.id)).toEqual(account);
      });

      it('describes itself and declares its capabilities', async () => {
        await store.migrate();
        expect(typeof store.description).toBe('string');
        expect(store.description.length).toBeGreaterThan(0);
        expect(store.capabilities).toEqual({
          concurrentWorkers: expect.any(Boolean),
          crossProcessWakeups: expect.any(Boolean),
          singleProcess: expect.any(Boolean),
        });
      });
    });

    describe('with a migrated store', () => {
      beforeEach(async () => {
        await store.migrate();
      });

      // Operational events, the email outbox and retention (operations.ts).
      operationsContract(() => store);

      // Every move between delivery statuses, against domain/transitions.ts (transitions.ts).
      transitionsContract(() => store);

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
          expect(
            await store.updateAccount({ id: a.id, name: 'Acme Corp', contactEmail: null }),
          ).toBe(true);
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

      // ---- ingest and events ---------------------------------------------------------------

      describe('ingest', () => {
        it('commits publishes made just before it closes, each with its own outcome', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const spec = { accountId: account.id, endpoints: [endpoint.id], receivedAt: T0 + 1 };
          const waiting = [1, 2, 3].map((count) =>
            store.ingest([anIngestBatch({ ...spec, count }).batch]),
          );
          await store.close();
          expect(await Promise.all(waiting)).toEqual([
            [{ kind: 'inserted' }],
            [{ kind: 'inserted' }],
            [{ kind: 'inserted' }],
          ]);
        });

        it('creates the events and their deliveries, pending and due at once', async () => {
          const { account, endpoint: e1 } = await anAccountWithEndpoint();
          const e2 = await addEndpoint(account.id);
          const built = await ingest({
            accountId: account.id,
            endpoints: [e1.id, e2.id],
            receivedAt: T0 + 100,
            count: 2,
            name: 'PACKAGE_CREATE',
          });

          expect(built.events).toHaveLength(2);
          for (const event of built.events) {
            expect(await store.getEvent(account.id, event.id)).toEqual(event);
          }
          for (const d of built.deliveries) {
            expect(await store.getDelivery(account.id, d.id)).toEqual({
              id: d.id,
              eventId: d.event.id,
              endpointId: d.endpointId,
              accountId: account.id,
              eventName: 'PACKAGE_CREATE',
              status: 'pending',
              attempts: 0,
              cycleAttempts: 0,
              nextAttemptAt: T0 + 100,
              lastStatusCode: null,
              lastError: null,
              createdAt: T0 + 100,
              updatedAt: T0 + 100,
            });
          }
          const page = await store.listDeliveries({ accountId: account.id }, null, 100);
          expect(sortedIds(page.data)).toEqual([...built.ids].sort());
        });

        it('makes no deliveries for an endpoint deleted since the publisher matched it', async () => {
          const { account, endpoint: kept } = await anAccountWithEndpoint();
          const deleted = await addEndpoint(account.id);
          expect(await store.deleteEndpoint(account.id, deleted.id)).toBe(true);
          const built = await ingest({
            accountId: account.id,
            endpoints: [kept.id, deleted.id],
            receivedAt: T0 + 100,
          });

          expect(await store.getEvent(account.id, built.events[0]!.id)).toEqual(built.events[0]);
          const page = await store.listDeliveries({ accountId: account.id }, null, 10);
          expect(page.data.map((d) => d.endpointId)).toEqual([kept.id]);
          expect(await store.nextDueAt()).toBe(T0 + 100);
          expect(await claimedIds(T0 + 100)).toHaveLength(1);
          expect(await store.nextDueAt()).toBeNull();
        });

        it('stores an event without listeners', async () => {
          const { account } = await anAccountWithEndpoint();
          const built = await ingest({ accountId: account.id, endpoints: [], receivedAt: T0 });
          expect(await store.getEvent(account.id, built.events[0]!.id)).toEqual(built.events[0]);
          expect((await store.listDeliveries({ accountId: account.id }, null, 10)).data).toEqual(
            [],
          );
        });

        it('returns one outcome per batch, in order', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const one = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 1,
          });
          const two = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 2,
            idempotency: { key: 'k', requestHash: 'h' },
          });
          expect(await store.ingest([one.batch, two.batch])).toEqual([
            { kind: 'inserted' },
            { kind: 'inserted' },
          ]);
          for (const e of [...one.events, ...two.events]) {
            expect(await store.getEvent(account.id, e.id)).toEqual(e);
          }
          expect(await store.ingest([])).toEqual([]);
        });

        it('commits a batch whole or not at all', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const first = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 1,
          });
          const failing = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 2,
            count: 2,
            idempotency: { key: 'retry-me', requestHash: 'h' },
          });
          // The second event reuses an id already stored: the batch cannot be committed.
          const [good, bad] = failing.batch.events;
          const broken = {
            ...failing.batch,
            events: [good!, { ...bad!, event: { ...bad!.event, id: first.events[0]!.id } }],
          };
          await expect(store.ingest([broken])).rejects.toThrow();

          expect(await store.getEvent(account.id, good!.event.id)).toBeUndefined();
          for (const d of failing.ids) {
            expect(await store.getDelivery(account.id, d)).toBeUndefined();
          }
          expect(await store.getEvent(account.id, first.events[0]!.id)).toEqual(first.events[0]);
          const page = await store.listDeliveries({ accountId: account.id }, null, 100);
          expect(idsOf(page.data)).toEqual(first.ids);
          // The idempotency key was not remembered either: the corrected request goes through.
          expect(await store.ingest([failing.batch])).toEqual([{ kind: 'inserted' }]);
        });

        it('replays a repeated idempotency key with the same hash, inserting nothing', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const idempotency = { key: 'req-1', requestHash: 'hash-1' };
          const first = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 1,
            idempotency,
            response: '{"id":"first"}',
          });
          const again = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 2,
            idempotency,
            response: '{"id":"second"}',
          });
          expect(await store.ingest([again.batch])).toEqual([
            { kind: 'replayed', response: '{"id":"first"}' },
          ]);
          expect(await store.getEvent(account.id, again.events[0]!.id)).toBeUndefined();
          const page = await store.listDeliveries({ accountId: account.id }, null, 100);
          expect(idsOf(page.data)).toEqual(first.ids);
        });

        it('reports a conflict for a repeated key with a different hash, inserting nothing', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const first = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 1,
            idempotency: { key: 'req-1', requestHash: 'hash-1' },
          });
          const other = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 2,
            idempotency: { key: 'req-1', requestHash: 'hash-2' },
          });
          expect(await store.ingest([other.batch])).toEqual([{ kind: 'conflict' }]);
          expect(await store.getEvent(account.id, other.events[0]!.id)).toBeUndefined();
          const page = await store.listDeliveries({ accountId: account.id }, null, 100);
          expect(idsOf(page.data)).toEqual(first.ids);
          // The first request is still replayed as it was.
          const replay = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 3,
            idempotency: { key: 'req-1', requestHash: 'hash-1' },
          });
          expect(await store.ingest([replay.batch])).toEqual([
            { kind: 'replayed', response: first.batch.response },
          ]);
        });

        it('scopes idempotency keys to the account', async () => {
          const { account: a, endpoint: ea } = await anAccountWithEndpoint();
          const { account: b, endpoint: eb } = await anAccountWithEndpoint();
          const idempotency = { key: 'shared', requestHash: 'h' };
          await ingest({ accountId: a.id, endpoints: [ea.id], receivedAt: T0, idempotency });
          const mine = await ingest({
            accountId: b.id,
            endpoints: [eb.id],
            receivedAt: T0 + 1,
            idempotency: { key: 'shared', requestHash: 'other' },
          });
          expect(await store.getEvent(b.id, mine.events[0]!.id)).toEqual(mine.events[0]);
        });

        it('treats the same key twice in one call as a replay of the first', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const idempotency = { key: 'dup', requestHash: 'h' };
          const one = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 1,
            idempotency,
            response: 'one',
          });
          const two = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 1,
            idempotency,
            response: 'two',
          });
          const three = anIngestBatch({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 1,
            idempotency: { key: 'dup', requestHash: 'different' },
          });
          expect(await store.ingest([one.batch, two.batch, three.batch])).toEqual([
            { kind: 'inserted' },
            { kind: 'replayed', response: 'one' },
            { kind: 'conflict' },
          ]);
          expect(await store.getEvent(account.id, one.events[0]!.id)).toEqual(one.events[0]);
          expect(await store.getEvent(account.id, two.events[0]!.id)).toBeUndefined();
          expect(await store.getEvent(account.id, three.events[0]!.id)).toBeUndefined();
          const page = await store.listDeliveries({ accountId: account.id }, null, 100);
          expect(idsOf(page.data)).toEqual(one.ids);
        });

        it('inserts every batch without an idempotency key', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const spec = { accountId: account.id, endpoints: [endpoint.id], receivedAt: T0 };
          const one = await ingest(spec);
          const two = await ingest(spec);
          const page = await store.listDeliveries({ accountId: account.id }, null, 100);
          expect(sortedIds(page.data)).toEqual([...one.ids, ...two.ids].sort());
        });

        it('creates held deliveries as held, with no next attempt', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
            status: 'held',
          });
          const held = await delivery(account.id, id);
          expect(held.status).toBe('held');
          expect(held.nextAttemptAt).toBeNull();
          expect(held.createdAt).toBe(T0 + 100);
          expect(await claimedIds(T0 + 1_000_000)).toEqual([]);
          expect(await store.nextDueAt()).toBeNull();
        });

        it('getEvent returns an event to its own account only', async () => {
          const { account: a, endpoint } = await anAccountWithEndpoint();
          const b = anAccount();
          await store.insertAccount(b);
          const built = await ingest({ accountId: a.id, endpoints: [endpoint.id], receivedAt: T0 });
          const event = built.events[0]!;
          expect(await store.getEvent(a.id, event.id)).toEqual(event);
          expect(await store.getEvent(b.id, event.id)).toBeUndefined();
          expect(await store.getEvent(a.id, newId('event', T0))).toBeUndefined();
        });
      });

      // ---- claiming ------------------------------------------------------------------------

      describe('claimDeliveries', () => {
        it('claims only pending deliveries that are due', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const base = { accountId: account.id, endpoints: [endpoint.id] };
          const due = await oneDelivery({ ...base, receivedAt: T0 + 100 });
          await oneDelivery({ ...base, receivedAt: T0 + 5000 }); // not due yet
          await oneDelivery({ ...base, receivedAt: T0 + 100, status: 'held' });
          const done = await oneDelivery({ ...base, receivedAt: T0 + 50 });
          const failed = await oneDelivery({ ...base, receivedAt: T0 + 60 });
          await settle([done], 'succeeded', T0 + 70);
          await settle([failed], 'failed', T0 + 70);

          expect(await claimedIds(T0 + 1000)).toEqual([due]);
          expect(await claimedIds(T0 + 1000)).toEqual([]);
        });

        it('claims a delivery due exactly now', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          expect(await claimedIds(T0 + 99)).toEqual([]);
          expect(await claimedIds(T0 + 100)).toEqual([id]);
        });

        it('claims the earliest due first and respects the limit', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const base = { accountId: account.id, endpoints: [endpoint.id] };
          const third = await oneDelivery({ ...base, receivedAt: T0 + 300 });
          const first = await oneDelivery({ ...base, receivedAt: T0 + 100 });
          const fourth = await oneDelivery({ ...base, receivedAt: T0 + 400 });
          const second = await oneDelivery({ ...base, receivedAt: T0 + 200 });

          expect(await claimedIds(T0 + 1000, 'w', 2)).toEqual([first, second]);
          expect(await claimedIds(T0 + 1000, 'w', 1)).toEqual([third]);
          expect(await claimedIds(T0 + 1000, 'w', 10)).toEqual([fourth]);
        });

        it('leases what it claims: delivering, owned, and not claimable again', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          expect(await claimedIds(T0 + 200, 'worker-1')).toEqual([id]);
          expect((await delivery(account.id, id)).status).toBe('delivering');
          expect(await claimedIds(T0 + 300, 'worker-2')).toEqual([]);
          expect(await store.nextDueAt()).toBeNull();
        });

        it('leaves deliveries of skipped endpoints for later', async () => {
          const { account, endpoint: busy } = await anAccountWithEndpoint();
          const free = await addEndpoint(account.id);
          const built = await ingest({
            accountId: account.id,
            endpoints: [busy.id, free.id],
            receivedAt: T0 + 100,
          });
          const [forBusy, forFree] = built.ids;
          const claimed = await store.claimDeliveries(
            aClaim(T0 + 200, 'w', { skipEndpoints: [busy.id] }),
          );
          expect(idsOf(claimed)).toEqual([forFree]);
          expect(await claimedIds(T0 + 200)).toEqual([forBusy]);
        });

        it("a thorough claim finds work behind a skipped endpoint's backlog", async () => {
          const { account, endpoint: busy } = await anAccountWithEndpoint();
          const free = await addEndpoint(account.id);
          await ingest({
            accountId: account.id,
            endpoints: [busy.id],
            receivedAt: T0 + 100,
            count: 40,
          });
          const late = await ingest({
            accountId: account.id,
            endpoints: [free.id],
            receivedAt: T0 + 150,
          });
          const claimed = await store.claimDeliveries(
            aClaim(T0 + 200, 'w', { skipEndpoints: [busy.id], limit: 2, thorough: true }),
          );
          expect(idsOf(claimed)).toEqual([late.ids[0]]);
          // A thorough claim takes from several endpoints, due ones only.
          const third = await addEndpoint(account.id);
          const a = await ingest({
            accountId: account.id,
            endpoints: [free.id, third.id],
            receivedAt: T0 + 300,
          });
          await ingest({ accountId: account.id, endpoints: [third.id], receivedAt: T0 + 10_000 });
          const more = await store.claimDeliveries(
            aClaim(T0 + 400, 'w', { skipEndpoints: [busy.id], limit: 10, thorough: true }),
          );
          expect(sortedIds(more)).toEqual([...a.ids].sort());
        });

        it('returns what a worker needs: payload, endpoint version, counts, manual flag', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const built = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          const v2 = nextVersion(endpoint, T0 + 150, { url: 'https://v2.example.com/' });
          expect(await store.updateEndpoint(v2)).toBe(true);

          const claimed = await store.claimDeliveries(aClaim(T0 + 200));
          expect(claimed).toEqual<ClaimedDelivery[]>([
            {
              id: built.ids[0]!,
              eventId: built.events[0]!.id,
              endpointId: endpoint.id,
              accountId: account.id,
              payload: built.events[0]!.payload,
              attempts: 0,
              cycleAttempts: 0,
              endpointVersion: 2,
              manual: false,
              traceParent: null,
            },
          ]);

          // After a failed attempt, the counts come back with the next claim.
          await store.recordResults([
            aResult(built.ids[0]!, 'worker-1', 'pending', T0 + 300, {
              attempts: 1,
              cycleAttempts: 1,
              nextAttemptAt: T0 + 400,
            }),
          ]);
          const again = await store.claimDeliveries(aClaim(T0 + 400));
          expect(again).toHaveLength(1);
          expect(again[0]).toMatchObject({ attempts: 1, cycleAttempts: 1, manual: false });
        });

        it('claims nothing from an empty store', async () => {
          expect(await claimedIds(T0)).toEqual([]);
        });
      });

      describe('package ordering', () => {
        const ORDERED = {
          options: {
            timeoutMs: 15_000,
            maxConcurrency: 32,
            rateLimit: null,
            ordering: 'package' as const,
            retrySchedule: null,
          },
        };

        /** Two deliveries for the same package on one endpoint, the first created first. */
        async function twoInOrder(): Promise<{
          account: AccountRecord;
          endpoint: EndpointRow;
          earlier: DeliveryId;
          later: DeliveryId;
        }> {
          const { account, endpoint } = await anAccountWithEndpoint(T0, ORDERED);
          const base = {
            accountId: account.id,
            endpoints: [endpoint.id],
            packageId: 'pkg-1',
            orderingKey: 'package',
          };
          const earlier = await oneDelivery({ ...base, receivedAt: T0 + 100 });
          const later = await oneDelivery({ ...base, receivedAt: T0 + 200 });
          return { account, endpoint, earlier, later };
        }

        it('does not claim a later delivery with an earlier one pending and due', async () => {
          const { earlier } = await twoInOrder();
          expect(await claimedIds(T0 + 1000)).toEqual([earlier]);
        });

        it('keeps a later delivery back while the earlier one is delivering', async () => {
          const { earlier } = await twoInOrder();
          expect(await claimedIds(T0 + 1000, 'w', 1)).toEqual([earlier]);
          expect(await claimedIds(T0 + 1000)).toEqual([]);
          expect(await claimedIds(T0 + 2000)).toEqual([]);
        });

        it('keeps a later delivery back while the earlier one waits for a retry', async () => {
          const { earlier } = await twoInOrder();
          await settle([earlier], 'pending', T0 + 1000, { nextAttemptAt: T0 + 10_000 });
          expect(await claimedIds(T0 + 2000)).toEqual([]);
          expect(await claimedIds(T0 + 10_000)).toEqual([earlier]);
        });

        it('keeps a later delivery back while the earlier one is held', async () => {
          const { earlier } = await twoInOrder();
          await settle([earlier], 'held', T0 + 1000);
          expect(await claimedIds(T0 + 2000)).toEqual([]);
        });

        it('keeps a later delivery back behind an earlier one created held', async () => {
          const { account, endpoint } = await anAccountWithEndpoint(T0, ORDERED);
          const base = {
            accountId: account.id,
            endpoints: [endpoint.id],
            packageId: 'pkg-1',
            orderingKey: 'package',
          };
          await oneDelivery({ ...base, receivedAt: T0 + 100, status: 'held' });
          await oneDelivery({ ...base, receivedAt: T0 + 200 });
          expect(await claimedIds(T0 + 2000)).toEqual([]);
        });

        it('releases a later delivery once the earlier one succeeded', async () => {
          const { earlier, later } = await twoInOrder();
          await settle([earlier], 'succeeded', T0 + 1000);
          expect(await claimedIds(T0 + 2000)).toEqual([later]);
        });

        it('releases a later delivery once the earlier one failed', async () => {
          const { earlier, later } = await twoInOrder();
          await settle([earlier], 'failed', T0 + 1000);
          expect(await claimedIds(T0 + 2000)).toEqual([later]);
        });

        it('orders deliveries of one batch by their position in it', async () => {
          const { account, endpoint } = await anAccountWithEndpoint(T0, ORDERED);
          const built = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
            count: 3,
            packageId: 'pkg-1',
            orderingKey: 'package',
          });
          const [a, b, c] = built.ids;
          expect(await claimedIds(T0 + 1000)).toEqual([a]);
          await store.recordResults([aResult(a!, 'worker-1', 'succeeded', T0 + 1001)]);
          expect(await claimedIds(T0 + 1002)).toEqual([b]);
          await store.recordResults([aResult(b!, 'worker-1', 'succeeded', T0 + 1003)]);
          expect(await claimedIds(T0 + 1004)).toEqual([c]);
        });

        it('orders per endpoint and per key only', async () => {
          const { account, endpoint: e1 } = await anAccountWithEndpoint(T0, ORDERED);
          const e2 = await addEndpoint(account.id, T0, ORDERED);
          const base = { accountId: account.id, orderingKey: 'package' };
          const first = await oneDelivery({
            ...base,
            endpoints: [e1.id],
            packageId: 'pkg-1',
            receivedAt: T0 + 100,
          });
          const otherKey = await oneDelivery({
            ...base,
            endpoints: [e1.id],
            packageId: 'pkg-2',
            receivedAt: T0 + 200,
          });
          const otherEndpoint = await oneDelivery({
            ...base,
            endpoints: [e2.id],
            packageId: 'pkg-1',
            receivedAt: T0 + 300,
          });
          const unordered = await oneDelivery({
            accountId: account.id,
            endpoints: [e1.id],
            packageId: 'pkg-1',
            receivedAt: T0 + 400,
          });
          const blocked = await oneDelivery({
            ...base,
            endpoints: [e1.id],
            packageId: 'pkg-1',
            receivedAt: T0 + 500,
          });
          const claimed = await claimedIds(T0 + 1000);
          expect(claimed).toEqual([first, otherKey, otherEndpoint, unordered]);
          expect(claimed).not.toContain(blocked);
        });

        it('never holds back deliveries without an ordering key', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const built = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
            count: 3,
            packageId: 'pkg-1',
          });
          expect((await claimedIds(T0 + 1000)).sort()).toEqual([...built.ids].sort());
        });
      });

      // ---- leases --------------------------------------------------------------------------

      describe('leases', () => {
        async function leased(leaseUntil: number, owner = 'worker-1'): Promise<DeliveryId> {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          const claimed = await store.claimDeliveries(aClaim(T0 + 200, owner, { leaseUntil }));
          expect(idsOf(claimed)).toEqual([id]);
          return id;
        }

        it('renewLeases extends the lease of the owner', async () => {
          const id = await leased(T0 + 1000);
          await store.renewLeases('worker-1', [id], T0 + 5000);
          expect(await store.recoverLeases(T0 + 2000, false)).toBe(0);
          expect(await store.recoverLeases(T0 + 6000, false)).toBe(1);
        });

        it('renewLeases does nothing for another owner', async () => {
          const id = await leased(T0 + 1000);
          await store.renewLeases('worker-2', [id], T0 + 5000);
          expect(await store.recoverLeases(T0 + 2000, false)).toBe(1);
        });

        it('releaseLeases gives the owner’s deliveries back, claimable at once', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const built = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
            count: 2,
          });
          expect((await claimedIds(T0 + 200, 'worker-1')).sort()).toEqual([...built.ids].sort());
          const [released, kept] = built.ids;
          await store.releaseLeases('worker-1', [released!], T0 + 300);
          expect((await delivery(account.id, released!)).status).toBe('pending');
          expect((await delivery(account.id, kept!)).status).toBe('delivering');
          expect(await claimedIds(T0 + 300, 'worker-2')).toEqual([released]);
        });

        it('releaseLeases does nothing for another owner', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          await claimedIds(T0 + 200, 'worker-1');
          await store.releaseLeases('worker-2', [id], T0 + 300);
          expect((await delivery(account.id, id)).status).toBe('delivering');
          expect(await claimedIds(T0 + 300, 'worker-2')).toEqual([]);
        });

        it('recoverLeases(now, false) takes back only expired leases, making them due', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const base = { accountId: account.id, endpoints: [endpoint.id] };
          const short = await oneDelivery({ ...base, receivedAt: T0 + 100 });
          const long = await oneDelivery({ ...base, receivedAt: T0 + 200 });
          await store.claimDeliveries(aClaim(T0 + 300, 'w1', { limit: 1, leaseUntil: T0 + 1000 }));
          await store.claimDeliveries(aClaim(T0 + 300, 'w2', { limit: 1, leaseUntil: T0 + 9000 }));

          expect(await store.recoverLeases(T0 + 500, false)).toBe(0);
          expect(await store.recoverLeases(T0 + 2000, false)).toBe(1);
          const back = await delivery(account.id, short);
          expect(back.status).toBe('pending');
          expect(back.nextAttemptAt).not.toBeNull();
          expect(back.nextAttemptAt!).toBeLessThanOrEqual(T0 + 2000);
          expect((await delivery(account.id, long)).status).toBe('delivering');
          expect(await claimedIds(T0 + 2000, 'w3')).toEqual([short]);
        });

        it('recoverLeases(now, true) takes back every lease, making them due', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const built = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
            count: 2,
          });
          await store.claimDeliveries(aClaim(T0 + 200, 'w1', { leaseUntil: T0 + 9000 }));
          const pending = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 5000,
          });

          expect(await store.recoverLeases(T0 + 300, true)).toBe(2);
          for (const id of built.ids) {
            const back = await delivery(account.id, id);
            expect(back.status).toBe('pending');
            expect(back.nextAttemptAt!).toBeLessThanOrEqual(T0 + 300);
          }
          expect((await claimedIds(T0 + 300, 'w2')).sort()).toEqual([...built.ids].sort());
          expect((await delivery(account.id, pending)).nextAttemptAt).toBe(T0 + 5000);
          expect(await store.recoverLeases(T0 + 300, true)).toBe(2);
          expect(await store.recoverLeases(T0 + 300, true)).toBe(0);
        });

        it('recoverLeases leaves deliveries in other statuses alone', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const base = { accountId: account.id, endpoints: [endpoint.id] };
          const done = await oneDelivery({ ...base, receivedAt: T0 + 100 });
          const failed = await oneDelivery({ ...base, receivedAt: T0 + 100 });
          const held = await oneDelivery({ ...base, receivedAt: T0 + 100, status: 'held' });
          const waiting = await oneDelivery({ ...base, receivedAt: T0 + 9000 });
          await settle([done], 'succeeded', T0 + 200);
          await settle([failed], 'failed', T0 + 200);

          expect(await store.recoverLeases(T0 + 1_000_000, true)).toBe(0);
          expect((await delivery(account.id, done)).status).toBe('succeeded');
          expect((await delivery(account.id, failed)).status).toBe('failed');
          expect((await delivery(account.id, held)).status).toBe('held');
          expect(await delivery(account.id, waiting)).toMatchObject({
            status: 'pending',
            nextAttemptAt: T0 + 9000,
          });
        });
      });

      // ---- results -------------------------------------------------------------------------

      describe('recordResults', () => {
        async function claimedOne(owner = 'worker-1'): Promise<{
          account: AccountRecord;
          endpoint: EndpointRow;
          id: DeliveryId;
        }> {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          expect(await claimedIds(T0 + 200, owner)).toEqual([id]);
          return { account, endpoint, id };
        }

        it('applies the result of the lease owner and stores its attempt', async () => {
          const { account, id } = await claimedOne();
          const result = aResult(id, 'worker-1', 'succeeded', T0 + 300);
          await store.recordResults([result]);
          expect(await delivery(account.id, id)).toMatchObject({
            status: 'succeeded',
            attempts: 1,
            cycleAttempts: 1,
            nextAttemptAt: null,
            lastStatusCode: 200,
            lastError: null,
            updatedAt: T0 + 300,
          });
          expect(await store.listAttempts(id)).toEqual([result.attempt]);
          expect(await store.recoverLeases(T0 + 1_000_000, true)).toBe(0);
        });

        it('schedules a retry: pending again, due at nextAttemptAt', async () => {
          const { account, id } = await claimedOne();
          await store.recordResults([
            aResult(id, 'worker-1', 'pending', T0 + 300, {
              nextAttemptAt: T0 + 5000,
              lastStatusCode: null,
              lastError: 'connect ECONNREFUSED',
            }),
          ]);
          expect(await delivery(account.id, id)).toMatchObject({
            status: 'pending',
            nextAttemptAt: T0 + 5000,
            lastStatusCode: null,
            lastError: 'connect ECONNREFUSED',
          });
          expect(await store.nextDueAt()).toBe(T0 + 5000);
          expect(await claimedIds(T0 + 4999)).toEqual([]);
          expect(await claimedIds(T0 + 5000)).toEqual([id]);
        });

        it('holds a held result only while its endpoint refuses work, when it is written', async () => {
          // The endpoint was fixed (enabled, reconnected) after the attempt decided to hold but
          // before its result was written: its release ran before the hold, so the hold itself
          // must see that the endpoint accepts work, or the delivery waits for the next sweep.
          const { account, endpoint, id } = await claimedOne();
          await store.recordResults([
            aResult(id, 'worker-1', 'held', T0 + 300, { nextAttemptAt: null }),
          ]);
          expect(await delivery(account.id, id)).toMatchObject({
            status: 'pending',
            nextAttemptAt: T0 + 300,
          });
          expect(await claimedIds(T0 + 300)).toEqual([id]);
          expect(
            await store.updateEndpoint({
              ...endpoint,
              state: 'disabled',
              version: endpoint.version + 1,
            }),
          ).toBe(true);
          await store.recordResults([
            aResult(id, 'worker-1', 'held', T0 + 400, { nextAttemptAt: null }),
          ]);
          expect(await delivery(account.id, id)).toMatchObject({
            status: 'held',
            nextAttemptAt: null,
          });
        });

        it('ignores a result from another owner but still stores its attempt', async () => {
          const { account, id } = await claimedOne('worker-1');
          const before = await delivery(account.id, id);
          const stray = aResult(id, 'worker-2', 'succeeded', T0 + 300);
          await store.recordResults([stray]);
          expect(await delivery(account.id, id)).toEqual(before);
          expect(before.status).toBe('delivering');
          expect(await store.listAttempts(id)).toEqual([stray.attempt]);
          // The owner's result still applies afterwards.
          await store.recordResults([
            aResult(id, 'worker-1', 'failed', T0 + 400, {
              attempts: 2,
              attempt: anAttempt(id, 2, T0 + 390, { statusCode: 500, outcome: 'http_error' }),
            }),
          ]);
          expect((await delivery(account.id, id)).status).toBe('failed');
        });

        it('ignores a late result once the lease was taken back', async () => {
          const { account, id } = await claimedOne('worker-1');
          expect(await store.recoverLeases(T0 + 1_000_000, false)).toBe(1);
          const late = aResult(id, 'worker-1', 'succeeded', T0 + 1_000_001);
          await store.recordResults([late]);
          expect(await delivery(account.id, id)).toMatchObject({ status: 'pending', attempts: 0 });
          expect(await store.listAttempts(id)).toEqual([late.attempt]);
        });

        it('ignores a result for a delivery that is not leased', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          const before = await delivery(account.id, id);
          await store.recordResults([aResult(id, 'worker-1', 'succeeded', T0 + 300)]);
          expect(await delivery(account.id, id)).toEqual(before);
        });

        it('applies several results in one call and stores a result without an attempt', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const built = await ingest({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
            count: 3,
          });
          const [a, b, c] = built.ids as [DeliveryId, DeliveryId, DeliveryId];
          await claimedIds(T0 + 200);
          expect(
            await store.updateEndpoint({
              ...endpoint,
              state: 'disabled',
              version: endpoint.version + 1,
            }),
          ).toBe(true);
          await store.recordResults([
            aResult(a, 'worker-1', 'succeeded', T0 + 300),
            aResult(b, 'worker-1', 'failed', T0 + 300),
            aResult(c, 'worker-1', 'held', T0 + 300, {
              attempts: 0,
              cycleAttempts: 0,
              lastStatusCode: null,
              lastError: 'endpoint disabled',
              attempt: null,
            }),
          ]);
          expect((await delivery(account.id, a)).status).toBe('succeeded');
          expect((await delivery(account.id, b)).status).toBe('failed');
          expect(await delivery(account.id, c)).toMatchObject({
            status: 'held',
            attempts: 0,
            nextAttemptAt: null,
            lastError: 'endpoint disabled',
          });
          expect(await store.listAttempts(c)).toEqual([]);
          expect(await store.listAttempts(a)).toHaveLength(1);
        });

        it('lists attempts in order of their number', async () => {
          const { account, id } = await claimedOne();
          const attempts: Array<DeliveryResult['attempt']> = [];
          let now = T0 + 300;
          for (let n = 1; n <= 4; n++) {
            const result = aResult(id, 'worker-1', n < 4 ? 'pending' : 'failed', now, {
              attempts: n,
              cycleAttempts: n,
              nextAttemptAt: n < 4 ? now + 1000 : null,
            });
            attempts.push(result.attempt);
            await store.recordResults([result]);
            now += 1000;
            if (n < 4) expect(await claimedIds(now)).toEqual([id]);
          }
          expect(await store.listAttempts(id)).toEqual(attempts);
          expect(await delivery(account.id, id)).toMatchObject({
            status: 'failed',
            attempts: 4,
            cycleAttempts: 4,
          });
        });
      });

      // ---- scheduling ----------------------------------------------------------------------

      describe('nextDueAt', () => {
        it('is the earliest next attempt of a pending delivery', async () => {
          expect(await store.nextDueAt()).toBeNull();
          const { account, endpoint } = await anAccountWithEndpoint();
          const base = { accountId: account.id, endpoints: [endpoint.id] };
          await oneDelivery({ ...base, receivedAt: T0 + 300 });
          const early = await oneDelivery({ ...base, receivedAt: T0 + 100 });
          await oneDelivery({ ...base, receivedAt: T0 + 50, status: 'held' });
          expect(await store.nextDueAt()).toBe(T0 + 100);
          await store.claimDeliveries(aClaim(T0 + 100));
          expect(await store.nextDueAt()).toBe(T0 + 300);
          await store.recordResults([
            aResult(early, 'worker-1', 'pending', T0 + 150, { nextAttemptAt: T0 + 200 }),
          ]);
          expect(await store.nextDueAt()).toBe(T0 + 200);
        });
      });

      describe('holding deliveries', () => {
        it('holds the pending deliveries of one endpoint only', async () => {
          const { account, endpoint: e1 } = await anAccountWithEndpoint();
          const e2 = await addEndpoint(account.id);
          const base = { accountId: account.id };
          const p1 = await oneDelivery({ ...base, endpoints: [e1.id], receivedAt: T0 + 100 });
          const p2 = await oneDelivery({ ...base, endpoints: [e1.id], receivedAt: T0 + 5000 });
          const busy = await oneDelivery({ ...base, endpoints: [e1.id], receivedAt: T0 + 50 });
          const done = await oneDelivery({ ...base, endpoints: [e1.id], receivedAt: T0 + 50 });
          const other = await oneDelivery({ ...base, endpoints: [e2.id], receivedAt: T0 + 100 });
          await settle([done], 'succeeded', T0 + 60);
          await store.claimDeliveries(aClaim(T0 + 60, 'w', { limit: 1 })); // busy

          expect(await store.holdDeliveries(e1.id, T0 + 1000)).toBe(2);
          for (const id of [p1, p2]) {
            expect(await delivery(account.id, id)).toMatchObject({
              status: 'held',
              nextAttemptAt: null,
            });
          }
          expect((await delivery(account.id, busy)).status).toBe('delivering');
          expect((await delivery(account.id, done)).status).toBe('succeeded');
          expect((await delivery(account.id, other)).status).toBe('pending');
          expect(await claimedIds(T0 + 1_000_000)).toEqual([other]);
          expect(await store.holdDeliveries(e1.id, T0 + 1001)).toBe(0);
        });

        it('releases the held deliveries of one endpoint, due now', async () => {
          const { account, endpoint: e1 } = await anAccountWithEndpoint();
          const e2 = await addEndpoint(account.id);
          const base = { accountId: account.id, status: 'held' as const };
          const built = await ingest({
            ...base,
            endpoints: [e1.id],
            receivedAt: T0 + 100,
            count: 2,
          });
          const other = await oneDelivery({ ...base, endpoints: [e2.id], receivedAt: T0 + 100 });

          expect(await store.releaseHeldDeliveries(e1.id, T0 + 2000)).toBe(2);
          for (const id of built.ids) {
            expect(await delivery(account.id, id)).toMatchObject({
              status: 'pending',
              nextAttemptAt: T0 + 2000,
            });
          }
          expect((await delivery(account.id, other)).status).toBe('held');
          expect(await claimedIds(T0 + 1999)).toEqual([]);
          expect((await claimedIds(T0 + 2000)).sort()).toEqual([...built.ids].sort());
          expect(await store.releaseHeldDeliveries(e1.id, T0 + 3000)).toBe(0);
        });

        it('releases holds stranded on endpoints that accept work, and only those', async () => {
          const { account, endpoint: open } = await anAccountWithEndpoint();
          const off = await addEndpoint(account.id, T0, { state: 'disabled' });
          const dead = await addEndpoint(account.id, T0, {
            authStatus: 'reauthorization_required',
          });
          const base = { accountId: account.id, status: 'held' as const, receivedAt: T0 + 100 };
          const stranded = await oneDelivery({ ...base, endpoints: [open.id] });
          const parked = await oneDelivery({ ...base, endpoints: [off.id] });
          const waiting = await oneDelivery({ ...base, endpoints: [dead.id] });

          expect(await store.releaseStrandedHolds(T0 + 2000)).toBe(1);
          expect(await delivery(account.id, stranded)).toMatchObject({
            status: 'pending',
            nextAttemptAt: T0 + 2000,
          });
          expect((await delivery(account.id, parked)).status).toBe('held');
          expect((await delivery(account.id, waiting)).status).toBe('held');
          expect(await store.releaseStrandedHolds(T0 + 3000)).toBe(0);
        });
      });

      // ---- reading deliveries --------------------------------------------------------------

      describe('listDeliveries', () => {
        /**
         * Account A: e1 gets PACKAGE_COMPLETE at +100, +200, +300 and PACKAGE_CREATE at +400;
         * e2 gets PACKAGE_CREATE at +500. The +200 delivery succeeded, the +300 one failed.
         * Account B has one delivery of its own.
         */
        async function fixture(): Promise<{
          a: AccountId;
          b: AccountId;
          e1: EndpointId;
          e2: EndpointId;
          d: DeliveryId[];
          eventOf: Map<DeliveryId, EventId>;
          other: DeliveryId;
        }> {
          const { account: a, endpoint: e1 } = await anAccountWithEndpoint();
          const e2 = await addEndpoint(a.id);
          const eventOf = new Map<DeliveryId, EventId>();
          const d: DeliveryId[] = [];
          const add = async (endpoint: EndpointId, at: number, name: string): Promise<void> => {
            const built = await ingest({
              accountId: a.id,
              endpoints: [endpoint],
              receivedAt: at,
              name,
            });
            d.push(built.ids[0]!);
            eventOf.set(built.ids[0]!, built.events[0]!.id);
          };
          await add(e1.id, T0 + 100, 'PACKAGE_COMPLETE');
          await add(e1.id, T0 + 200, 'PACKAGE_COMPLETE');
          await add(e1.id, T0 + 300, 'PACKAGE_COMPLETE');
          await add(e1.id, T0 + 400, 'PACKAGE_CREATE');
          await add(e2.id, T0 + 500, 'PACKAGE_CREATE');
          await settle([d[1]!], 'succeeded', T0 + 600);
          await settle([d[2]!], 'failed', T0 + 600);
          const { account: b, endpoint: eb } = await anAccountWithEndpoint();
          const other = await oneDelivery({
            accountId: b.id,
            endpoints: [eb.id],
            receivedAt: T0 + 250,
            name: 'PACKAGE_COMPLETE',
          });
          return { a: a.id, b: b.id, e1: e1.id, e2: e2.id, d, eventOf, other };
        }

        it('lists an account’s deliveries newest first', async () => {
          const { a, d } = await fixture();
          const page = await store.listDeliveries({ accountId: a }, null, 100);
          expect(idsOf(page.data)).toEqual([...d].reverse());
          expect(page.next).toBeNull();
          expect(page.data.map((r) => r.createdAt)).toEqual(
            [500, 400, 300, 200, 100].map((x) => T0 + x),
          );
          expect(page.data.find((r) => r.id === d[1])?.status).toBe('succeeded');
        });

        it('filters by endpoint, event, status and event name', async () => {
          const { a, e1, e2, d, eventOf } = await fixture();
          const list = async (filter: Omit<DeliveryFilter, 'accountId'>): Promise<string[]> =>
            idsOf((await store.listDeliveries({ accountId: a, ...filter }, null, 100)).data);
          const [d0, d1, d2, d3, d4] = d;

          expect(await list({ endpointId: e1 })).toEqual([d3, d2, d1, d0]);
          expect(await list({ endpointId: e2 })).toEqual([d4]);
          expect(await list({ eventId: eventOf.get(d2!) })).toEqual([d2]);
          expect(await list({ status: 'pending' })).toEqual([d4, d3, d0]);
          expect(await list({ status: 'succeeded' })).toEqual([d1]);
          expect(await list({ status: 'failed' })).toEqual([d2]);
          expect(await list({ status: 'held' })).toEqual([]);
          expect(await list({ eventName: 'PACKAGE_CREATE' })).toEqual([d4, d3]);
          expect(await list({ eventName: 'PACKAGE_COMPLETE' })).toEqual([d2, d1, d0]);
          expect(await list({ eventName: 'PACKAGE_DECLINE' })).toEqual([]);
          expect(await list({ endpointId: e1, eventName: 'PACKAGE_CREATE' })).toEqual([d3]);
          expect(await list({ endpointId: e1, status: 'pending' })).toEqual([d3, d0]);
        });

        it('filters by the package id of their events, within the account', async () => {
          const { account: a, endpoint: e1 } = await anAccountWithEndpoint();
          const { account: b, endpoint: eb } = await anAccountWithEndpoint();
          const of = async (accountId: AccountId, endpoint: EndpointId, pkg: string, at: number) =>
            (await ingest({ accountId, endpoints: [endpoint], receivedAt: at, packageId: pkg }))
              .ids[0]!;
          const first = await of(a.id, e1.id, 'pkg-A', T0 + 1);
          await of(a.id, e1.id, 'pkg-B', T0 + 2);
          const second = await of(a.id, e1.id, 'pkg-A', T0 + 3);
          await of(b.id, eb.id, 'pkg-A', T0 + 4);
          const list = async (filter: Omit<DeliveryFilter, 'accountId'>): Promise<string[]> =>
            idsOf((await store.listDeliveries({ accountId: a.id, ...filter }, null, 100)).data);
          expect(await list({ packageId: 'pkg-A' })).toEqual([second, first]);
          expect(await list({ packageId: 'pkg-A', endpointId: e1.id, status: 'pending' })).toEqual([
            second,
            first,
          ]);
          expect(await list({ packageId: 'pkg-C' })).toEqual([]);
        });

        it('filters by creation time: since inclusive, until exclusive', async () => {
          const { a, d } = await fixture();
          const list = async (since?: number, until?: number): Promise<string[]> =>
            idsOf((await store.listDeliveries({ accountId: a, since, until }, null, 100)).data);
          const [d0, d1, d2, d3, d4] = d;
          expect(await list(T0 + 200)).toEqual([d4, d3, d2, d1]);
          expect(await list(T0 + 201)).toEqual([d4, d3, d2]);
          expect(await list(undefined, T0 + 300)).toEqual([d1, d0]);
          expect(await list(undefined, T0 + 301)).toEqual([d2, d1, d0]);
          expect(await list(T0 + 200, T0 + 400)).toEqual([d2, d1]);
          expect(await list(T0 + 600)).toEqual([]);
          expect(await list(T0 + 300, T0 + 300)).toEqual([]);
        });

        it('walks every row exactly once through the cursor', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const all: DeliveryId[] = [];
          for (let i = 0; i < 7; i++) {
            const built = await ingest({
              accountId: account.id,
              endpoints: [endpoint.id],
              receivedAt: T0 + 100 * (i + 1),
              count: 2,
            });
            all.push(...built.ids);
          }
          for (const limit of [1, 3, 5, 14, 20]) {
            const seen: DeliveryRecord[] = [];
            let cursor: string | null = null;
            let pages = 0;
            do {
              const page: Awaited<ReturnType<Store['listDeliveries']>> = await store.listDeliveries(
                { accountId: account.id },
                cursor,
                limit,
              );
              expect(page.data.length).toBeLessThanOrEqual(limit);
              seen.push(...page.data);
              cursor = page.next;
              pages++;
              expect(pages).toBeLessThanOrEqual(14);
            } while (cursor !== null);
            expect(sortedIds(seen)).toEqual([...all].sort());
            expect(new Set(idsOf(seen)).size).toBe(all.length);
            const times = seen.map((r) => r.createdAt);
            expect(times).toEqual([...times].sort((x, y) => y - x));
            expect(pages).toBe(Math.ceil(all.length / limit));
          }
        });

        it('pages through a filtered list', async () => {
          const { a, e1, d } = await fixture();
          const first = await store.listDeliveries({ accountId: a, endpointId: e1 }, null, 3);
          expect(idsOf(first.data)).toEqual([d[3], d[2], d[1]]);
          expect(first.next).not.toBeNull();
          const second = await store.listDeliveries(
            { accountId: a, endpointId: e1 },
            first.next,
            3,
          );
          expect(idsOf(second.data)).toEqual([d[0]]);
          expect(second.next).toBeNull();
        });

        it('lists another account’s deliveries to nobody else', async () => {
          const { a, b, e1, d, eventOf, other } = await fixture();
          expect(idsOf((await store.listDeliveries({ accountId: b }, null, 100)).data)).toEqual([
            other,
          ]);
          expect(
            (await store.listDeliveries({ accountId: b, endpointId: e1 }, null, 100)).data,
          ).toEqual([]);
          expect(
            (await store.listDeliveries({ accountId: b, eventId: eventOf.get(d[0]!) }, null, 100))
              .data,
          ).toEqual([]);
          const mine = await store.listDeliveries({ accountId: a }, null, 100);
          expect(idsOf(mine.data)).not.toContain(other);
          expect(
            (await store.listDeliveries({ accountId: anAccount().id }, null, 100)).data,
          ).toEqual([]);
        });
      });

      describe('getDelivery', () => {
        it('returns a delivery to its own account only', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const other = anAccount();
          await store.insertAccount(other);
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0,
          });
          expect((await store.getDelivery(account.id, id))?.id).toBe(id);
          expect(await store.getDelivery(other.id, id)).toBeUndefined();
          expect(await store.listAttempts(id)).toEqual([]);
        });
      });

      // ---- redelivery and recovery ---------------------------------------------------------

      describe('redeliver', () => {
        async function inStatus(
          status: 'failed' | 'held' | 'succeeded',
        ): Promise<{ account: AccountRecord; id: DeliveryId }> {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          await settle([id], status, T0 + 200, { attempts: 3, cycleAttempts: 3 });
          return { account, id };
        }

        for (const status of ['failed', 'held', 'succeeded'] as const) {
          it(`moves a ${status} delivery back to pending, due now, in a new cycle`, async () => {
            const { account, id } = await inStatus(status);
            const after = await store.redeliver(account.id, id, T0 + 5000);
            expect(after).toMatchObject({
              id,
              status: 'pending',
              nextAttemptAt: T0 + 5000,
              attempts: 3,
              cycleAttempts: 0,
            });
            expect(await store.getDelivery(account.id, id)).toEqual(after);
            expect(await store.nextDueAt()).toBe(T0 + 5000);
            const claimed = await store.claimDeliveries(aClaim(T0 + 5000));
            expect(claimed).toHaveLength(1);
            expect(claimed[0]).toMatchObject({
              id,
              manual: true,
              attempts: 3,
              cycleAttempts: 0,
            });
          });
        }

        it('makes a pending delivery due now, keeping its retry cycle', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          await settle([id], 'pending', T0 + 200, {
            attempts: 2,
            cycleAttempts: 2,
            nextAttemptAt: T0 + 60_000,
          });
          const after = await store.redeliver(account.id, id, T0 + 1000);
          expect(after).toMatchObject({
            status: 'pending',
            nextAttemptAt: T0 + 1000,
            attempts: 2,
            cycleAttempts: 2,
          });
          expect(await claimedIds(T0 + 1000)).toEqual([id]);
        });

        it('leaves a delivering delivery unchanged', async () => {
          const { account, endpoint } = await anAccountWithEndpoint();
          const id = await oneDelivery({
            accountId: account.id,
            endpoints: [endpoint.id],
            receivedAt: T0 + 100,
          });
          await claimedIds(T0 + 200);
          const before = await delivery(account.id, id);
          expect(await store.redeliver(account.id, id, T0 + 1000)).toEqual(before);
          expect(await store.getDelivery(account.id, id)).toEqual(before);
          expect(await claimedIds(T0 + 1000, 'worker-2')).toEqual([]);
        });

        it('does not touch another account’s delivery', async () => {
          const { account, id } = await inStatus('failed');
          const other = anAccount();
          await store.insertAccount(other);
          const before = await delivery(account.id, id);
          expect(await store.redeliver(other.id, id, T0 + 1000)).toBeUndefined();
          expect(await store.getDelivery(account.id, id)).toEqual(before);
          expect(
            await store.redeliver(account.id, newId('delivery', T0), T0 + 1000),
          ).toBeUndefined();
        });

        it('keeps the manual flag for one attempt only', async () => {
          const { account, id } = await inStatus('failed');
          await store.redeliver(account.id, id, T0 + 1000);
          const [manual] = await store.claimDeliveries(aClaim(T0 + 1000));
          expect(manual?.manual).toBe(true);
          await store.recordResults([
            aResult(id, 'worker-1', 'pending', T0 + 1100, {
              attempts: 4,
              cycleAttempts: 1,
              nextAttemptAt: T0 + 2000,
              attempt: anAttempt(id, 4, T0 + 1050, { trigger: 'manual' }),
            }),
          ]);
          const [scheduled] = await store.claimDeliveries(aClaim(T0 + 2000));
          expect(scheduled).toMatchObject({ id, manual: false, attempts: 4, cycleAttempts: 1 });
        });
      });

      describe('recover', () => {
        it('makes failed and held deliveries of the endpoint created in [since, until) due', async () => {
          const { account, endpoint: e1 } = await anAccountWithEndpoint();
          const e2 = await addEndpoint(account.id);
          const at = async (endpoint: EndpointRow, when: number): Promise<DeliveryId> =>
            oneDelivery({ accountId: account.id, endpoints: [endpoint.id], receivedAt: when });
          const before = await at(e1, T0 + 99);
          const failedFirst = await at(e1, T0 + 100);
          const held = await at(e1, T0 + 200);
          const succeeded = await at(e1, T0 + 250);
          const pending = await at(e1, T0 + 260);
          const atUntil = await at(e1, T0 + 300);
          const otherEndpoint = await at(e2, T0 + 200);
          await settle([before, failedFirst, atUntil, otherEndpoint], 'failed', T0 + 400, {
            attempts: 5,
            cycleAttempts: 5,
          });
          await settle([held], 'held', T0 + 400);
          await settle([succeeded], 'succeeded', T0 + 400);
          await settle([pending], 'pending', T0 + 400, { nextAttemptAt: T0 + 90_000 });

          expect(await store.recover(e1.id, T0 + 100, T0 + 300, T0 + 1000)).toBe(2);
          for (const id of [failedFirst, held]) {
            expect(await delivery(account.id, id)).toMatchObject({
              status: 'pending',
              nextAttemptAt: T0 + 1000,
              cycleAttempts: 0,
            });
          }
          expect((await delivery(account.id, failedFirst)).attempts).toBe(5);
          expect((await delivery(account.id, before)).status).toBe('failed');
          expect((await delivery(account.id, atUntil)).status).toBe('failed');
          expect((await delivery(account.id, otherEndpoint)).status).toBe('failed');
          expect((await delivery(account.id, succeeded)).status).toBe('succeeded');
          expect(await delivery(account.id, pending)).toMatchObject({
            status: 'pending',
            nextAttemptAt: T0 + 90_000,
          });
          expect((await claimedIds(T0 + 1000)).sort()).toEqual([failedFirst, held].sort());
          expect(await store.recover(e1.id, T0 + 100, T0 + 300, T0 + 2000)).toBe(0);
        });
      });

      // ---- statistics ----------------------------------------------------------------------

      describe('queueStats', () => {
        it('is all zero for an empty store', async () => {
          expect(await store.queueStats(T0)).toEqual({
            pending: 0,
            due: 0,
            delivering: 0,
            held: 0,
            failed: 0,
            oldestDueAt: null,
          });
        });

        it('counts deliveries by status across accounts', async () => {
          const { account: a, endpoint: ea } = await anAccountWithEndpoint();
          const { account: b, endpoint: eb } = await anAccountWithEndpoint();
          const inA = { accountId: a.id, endpoints: [ea.id] };
          const inB = { accountId: b.id, endpoints: [eb.id] };
          const toFail = await oneDelivery({ ...inA, receivedAt: T0 + 10 });
          const toSucceed = await oneDelivery({ ...inB, receivedAt: T0 + 10 });
          const toDeliver = await oneDelivery({ ...inB, receivedAt: T0 + 20 });
          await settle([toFail], 'failed', T0 + 30);
          await settle([toSucceed], 'succeeded', T0 + 30);
          expect(await claimedIds(T0 + 30, 'w', 1)).toEqual([toDeliver]);
          await oneDelivery({ ...inA, receivedAt: T0 + 100 });
          await oneDelivery({ ...inB, receivedAt: T0 + 200 });
          await oneDelivery({ ...inA, receivedAt: T0 + 5000 });
          await oneDelivery({ ...inA, receivedAt: T0 + 100, status: 'held' });
          await oneDelivery({ ...inB, receivedAt: T0 + 100, status: 'held' });

          expect(await store.queueStats(T0 + 1000)).toEqual({
            pending: 3,
            due: 2,
            delivering: 1,
            held: 2,
            failed: 1,
            oldestDueAt: T0 + 100,
          });
          expect(await store.queueStats(T0 + 50)).toMatchObject({
            pending: 3,
            due: 0,
            oldestDueAt: null,
          });
          expect(await store.queueStats(T0 + 5000)).toMatchObject({
            due: 3,
            oldestDueAt: T0 + 100,
          });
        });
      });

      consoleQueriesContract(() => store);

      // ---- operational events --------------------------------------------------------------

      describe('operational events', () => {
        it('stores events exactly and lists them newest first, one account only', async () => {
          const { account: a, endpoint } = await anAccountWithEndpoint();
          const b = anAccount();
          await store.insertAccount(b);
          const id = await oneDelivery({
            accountId: a.id,
            endpoints: [endpoint.id],
            receivedAt: T0,
          });
          const mine: OperationalEventRecord[] = [];
          for (let i = 0; i < 5; i++) {
            const event = anOperationalEvent(a.id, T0 + 100 * (i + 1), {
              type: i % 2 === 0 ? 'endpoint.disabled' : 'delivery.exhausted',
              endpointId: i % 2 === 0 ? endpoint.id : null,
              deliveryId: i % 2 === 0 ? null : id,
              data: { index: i, reason: `r${i}`, nested: { list: [i, null, 'x'] } },
            });
            mine.push(event);
            await store.insertOperationalEvent(event);
          }
          const theirs = anOperationalEvent(b.id, T0 + 250);
          await store.insertOperationalEvent(theirs);

          const all = await store.listOperationalEvents(a.id, null, 100);
          expect(all).toEqual({ data: [...mine].reverse(), next: null });
          expect(await store.listOperationalEvents(b.id, null, 100)).toEqual({
            data: [theirs],
            next: null,
          });
          expect(await store.listOperationalEvents(anAccount().id, null, 100)).toEqual({
            data: [],
            next: null,
          });
        });

        it('pages through operational events with the cursor', async () => {
          const { account } = await anAccountWithEndpoint();
          const other = anAccount();
          await store.insertAccount(other);
          const mine: OperationalEventRecord[] = [];
          for (let i = 0; i < 7; i++) {
            const event = anOperationalEvent(account.id, T0 + 100 * (i + 1));
            mine.push(event);
            await store.insertOperationalEvent(event);
            await store.insertOperationalEvent(anOperationalEvent(other.id, T0 + 100 * i + 50));
          }
          const seen: OperationalEventRecord[] = [];
          let cursor: string | null = null;
          let pages = 0;
          do {
            const page: Awaited<ReturnType<Store['listOperationalEvents']>> =
              await store.listOperationalEvents(account.id, cursor, 3);
            expect(page.data.length).toBeLessThanOrEqual(3);
            seen.push(...page.data);
            cursor = page.next;
            pages++;
          } while (cursor !== null && pages < 10);
          expect(pages).toBe(3);
          expect(seen).toEqual([...mine].reverse());
        });
      });
    });

    describe('OAuth token records', () => {
      const token = (
        endpointId: EndpointId,
        generation: number,
        extra: Partial<TokenRecord> = {},
      ): TokenRecord => ({
        endpointId,
        credentialKey: 'cred-1',
        generation,
        accessTokenCiphertext: `at-${generation}`,
        refreshTokenCiphertext: `rt-${generation}`,
        expiresAt: null,
        refreshAt: null,
        instanceUrl: 'https://org.example',
        deadReason: null,
        deadKey: null,
        updatedAt: T0 + generation,
        ...extra,
      });

      beforeEach(async () => {
        await store.migrate();
      });

      it('stores generation 1 on an empty slot, then only the next generation (compare-and-set)', async () => {
        const { endpoint } = await anAccountWithEndpoint();
        expect(await store.getToken(endpoint.id)).toBeUndefined();
        expect(await store.saveToken(token(endpoint.id, 2))).toBe(false);
        expect(await store.saveToken(token(endpoint.id, 1))).toBe(true);
        expect(await store.saveToken(token(endpoint.id, 1))).toBe(false);
        expect(await store.saveToken(token(endpoint.id, 3))).toBe(false);
        expect(await store.saveToken(token(endpoint.id, 2, { deadReason: 'gone' }))).toBe(true);
        expect(await store.getToken(endpoint.id)).toEqual(
          token(endpoint.id, 2, { deadReason: 'gone' }),
        );
      });

      it('grants the refresh lock to one owner until it expires or is released', async () => {
        const { endpoint } = await anAccountWithEndpoint();
        expect(await store.acquireTokenLock(endpoint.id, 'a', T0, T0 + 1000)).toBe(true);
        expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 500, T0 + 1500)).toBe(false);
        expect(await store.acquireTokenLock(endpoint.id, 'a', T0 + 500, T0 + 1500)).toBe(true);
        await store.releaseTokenLock(endpoint.id, 'b');
        expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 600, T0 + 1600)).toBe(false);
        expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 1501, T0 + 2500)).toBe(true);
        await store.releaseTokenLock(endpoint.id, 'b');
        expect(await store.acquireTokenLock(endpoint.id, 'c', T0 + 1600, T0 + 2600)).toBe(true);
      });

      it('keeps the lock held across a save, and the lock slot does not count as a generation', async () => {
        const { endpoint } = await anAccountWithEndpoint();
        expect(await store.acquireTokenLock(endpoint.id, 'a', T0, T0 + 1000)).toBe(true);
        expect(await store.saveToken(token(endpoint.id, 1))).toBe(true);
        expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 10, T0 + 1010)).toBe(false);
        expect((await store.getToken(endpoint.id))!.generation).toBe(1);
      });

      it('imports a record as is, and deletes it with its endpoint', async () => {
        const { account, endpoint } = await anAccountWithEndpoint();
        await store.saveToken(token(endpoint.id, 1));
        await store.importToken(token(endpoint.id, 7, { credentialKey: 'cred-2' }));
        expect(await store.getToken(endpoint.id)).toEqual(
          token(endpoint.id, 7, { credentialKey: 'cred-2' }),
        );
        expect(await store.deleteEndpoint(account.id, endpoint.id)).toBe(true);
        expect(await store.getToken(endpoint.id)).toBeUndefined();
      });
    });

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

      copyContract(() => store);
    });
  });
}
