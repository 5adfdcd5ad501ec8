// The store contract, queue part (QueueStore), reads and manual moves: listing and reading
// deliveries, redeliver, recover, queue statistics. Registered by storeContract (contract.ts) on
// every adapter.

import { describe, expect, it } from 'vitest';
import {
  newId,
  type AccountId,
  type DeliveryId,
  type EndpointId,
  type EventId,
} from '../../src/domain/ids.js';
import type {
  AccountRecord,
  DeliveryFilter,
  DeliveryRecord,
  EndpointRow,
  Store,
} from '../../src/store/port.js';
import { T0, aClaim, aResult, anAccount, anAttempt } from '../helpers/store.js';
import { contractHelpers, idsOf, runningStore, sortedIds } from './helpers.js';

export function queueReadsContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, addEndpoint, ingest, oneDelivery, delivery, claimedIds, settle } =
    contractHelpers(store);

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
      const second = await store.listDeliveries({ accountId: a, endpointId: e1 }, first.next, 3);
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
        (await store.listDeliveries({ accountId: b, eventId: eventOf.get(d[0]!) }, null, 100)).data,
      ).toEqual([]);
      const mine = await store.listDeliveries({ accountId: a }, null, 100);
      expect(idsOf(mine.data)).not.toContain(other);
      expect((await store.listDeliveries({ accountId: anAccount().id }, null, 100)).data).toEqual(
        [],
      );
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
      expect(await store.redeliver(account.id, newId('delivery', T0), T0 + 1000)).toBeUndefined();
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
}
