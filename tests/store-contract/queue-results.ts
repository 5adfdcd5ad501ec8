// The store contract, queue part (QueueStore), results: recording results and their attempts,
// the next due time, holding and releasing an endpoint's deliveries. Registered by storeContract
// (contract.ts) on every adapter.

import { describe, expect, it } from 'vitest';
import type { DeliveryId } from '../../src/domain/ids.js';
import type { AccountRecord, DeliveryResult, EndpointRow, Store } from '../../src/store/port.js';
import { T0, aClaim, aResult, anAttempt } from '../helpers/store.js';
import { contractHelpers, runningStore } from './helpers.js';

export function queueResultsContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, addEndpoint, ingest, oneDelivery, delivery, claimedIds, settle } =
    contractHelpers(store);

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
}
