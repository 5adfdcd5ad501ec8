// The store contract, queue part (QueueStore), claims: leasing due deliveries, package ordering,
// renewing, releasing and recovering leases. Registered by storeContract (contract.ts) on every
// adapter.

import { describe, expect, it } from 'vitest';
import type { DeliveryId } from '../../src/domain/ids.js';
import type { AccountRecord, ClaimedDelivery, EndpointRow, Store } from '../../src/store/port.js';
import { T0, aClaim, aResult, nextVersion } from '../helpers/store.js';
import { contractHelpers, idsOf, runningStore, sortedIds } from './helpers.js';

export function queueClaimsContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, addEndpoint, ingest, oneDelivery, delivery, claimedIds, settle } =
    contractHelpers(store);

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
}
