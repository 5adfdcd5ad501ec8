// The store contract, deliveries handed over at ingest (queue/handover.ts): a new delivery
// inserted with a lease is stored as if claimed in the same transaction by the lease's owner.
// Only that owner's results, renewals and releases touch it; a claim never returns it until the
// lease runs out and is recovered. Registered by storeContract (contract.ts) on every adapter.

import { describe, expect, it } from 'vitest';
import type { DeliveryId } from '../../src/domain/ids.js';
import type { IngestBatch, Store } from '../../src/store/port.js';
import { T0, aResult, anIngestBatch, type BatchSpec } from '../helpers/store.js';
import { contractHelpers, runningStore, sortedIds } from './helpers.js';

const LEASE = { owner: 'w1', until: T0 + 1000 } as const;

export function ingestLeasedContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, addEndpoint, oneDelivery, delivery, claimedIds } =
    contractHelpers(store);

  /** One delivery handed over to w1 (leased until T0 + 1000), and the account it belongs to. */
  async function handedOver(
    spec: Partial<BatchSpec> = {},
  ): Promise<{ accountId: BatchSpec['accountId']; id: DeliveryId }> {
    const { account, endpoint } = await anAccountWithEndpoint();
    const id = await oneDelivery({
      accountId: account.id,
      endpoints: [endpoint.id],
      receivedAt: T0 + 100,
      lease: LEASE,
      ...spec,
    });
    return { accountId: account.id, id };
  }

  /** A batch of one event to two new endpoints of a new account, each delivery leased or not. */
  async function oneEventToTwo(leased: readonly [boolean, boolean]) {
    const { account, endpoint } = await anAccountWithEndpoint();
    const endpoints = [endpoint.id, (await addEndpoint(account.id)).id];
    const built = anIngestBatch({ accountId: account.id, endpoints, receivedAt: T0 + 100 });
    const [event] = built.batch.events;
    const deliveries = event!.deliveries.map((d, i) => (leased[i] ? { ...d, lease: LEASE } : d));
    const batch: IngestBatch = { ...built.batch, events: [{ ...event!, deliveries }] };
    return { accountId: account.id, endpoints, batch, ids: deliveries.map((d) => d.id) };
  }

  describe('ingest: deliveries handed over under a lease', () => {
    it('stores a handed-over delivery as delivering, which no claim returns', async () => {
      const { accountId, id } = await handedOver();
      expect(await delivery(accountId, id)).toMatchObject({
        status: 'delivering',
        attempts: 0,
        createdAt: T0 + 100,
      });
      expect(await claimedIds(T0 + 500, 'w2')).toEqual([]);
      expect(await claimedIds(T0 + 500, 'w1')).toEqual([]);
      // Nothing for a claim to wait for either; the queue counts it as being delivered.
      expect(await store.nextDueAt()).toBeNull();
      expect(await store.queueStats(T0 + 500)).toMatchObject({
        pending: 0,
        due: 0,
        delivering: 1,
      });
    });

    it('leaves a delivery without a lease pending beside a handed-over one in the same batch', async () => {
      // As the ingest builds it when only the first endpoint's delivery could be handed over.
      const { accountId, batch, ids } = await oneEventToTwo([true, false]);
      const [leased, queued] = ids;
      expect(await store.ingest([batch])).toEqual([{ kind: 'inserted' }]);

      expect((await delivery(accountId, leased!)).status).toBe('delivering');
      expect(await delivery(accountId, queued!)).toMatchObject({
        status: 'pending',
        nextAttemptAt: T0 + 100,
      });
      expect(await store.nextDueAt()).toBe(T0 + 100);
      expect(await claimedIds(T0 + 200, 'w2')).toEqual([queued!]);
    });

    it('reports handed-over deliveries to an endpoint deleted since the publish matched it', async () => {
      const { accountId, endpoints, batch, ids } = await oneEventToTwo([true, true]);
      const [toGone, toKept] = ids;
      // Deleted (by another process) after the publish matched it, before the commit.
      expect(await store.deleteEndpoint(accountId, endpoints[0]!)).toBe(true);
      expect(await store.ingest([batch])).toEqual([{ kind: 'inserted', skipped: [toGone] }]);
      expect((await delivery(accountId, toKept!)).status).toBe('delivering');
      expect(await store.queueStats(T0 + 500)).toMatchObject({ pending: 0, delivering: 1 });
    });

    it("applies the lease owner's result only", async () => {
      const { accountId, id } = await handedOver();
      await store.recordResults([aResult(id, 'w2', 'succeeded', T0 + 300)]);
      expect(await delivery(accountId, id)).toMatchObject({ status: 'delivering', attempts: 0 });

      await store.recordResults([aResult(id, 'w1', 'succeeded', T0 + 400)]);
      expect(await delivery(accountId, id)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        lastStatusCode: 200,
        updatedAt: T0 + 400,
      });
      expect(await store.recoverLeases(T0 + 1_000_000, true)).toBe(0);
    });

    it('is renewed by its owner only, and recovered once the lease ran out, then claimable', async () => {
      const { accountId, id } = await handedOver();
      await store.renewLeases('w2', [id], T0 + 9000);
      expect(await store.recoverLeases(T0 + 500, false)).toBe(0);
      await store.renewLeases('w1', [id], T0 + 5000);
      // Past the lease it was inserted with, not past the renewed one: still w1's.
      expect(await store.recoverLeases(T0 + 2000, false)).toBe(0);
      expect((await delivery(accountId, id)).status).toBe('delivering');
      expect(await claimedIds(T0 + 2000, 'w2')).toEqual([]);

      expect(await store.recoverLeases(T0 + 6000, false)).toBe(1);
      const back = await delivery(accountId, id);
      expect(back.status).toBe('pending');
      expect(back.nextAttemptAt!).toBeLessThanOrEqual(T0 + 6000);
      expect(await claimedIds(T0 + 6000, 'w2')).toEqual([id]);
      // Now w2's: the first owner's late result is not applied.
      await store.recordResults([aResult(id, 'w1', 'succeeded', T0 + 6100)]);
      expect((await delivery(accountId, id)).status).toBe('delivering');
      await store.recordResults([aResult(id, 'w2', 'succeeded', T0 + 6200)]);
      expect((await delivery(accountId, id)).status).toBe('succeeded');
    });

    it('is recovered once the lease it was inserted with ran out', async () => {
      const { accountId, id } = await handedOver();
      expect(await store.recoverLeases(LEASE.until - 1, false)).toBe(0);
      expect(await store.recoverLeases(LEASE.until + 1, false)).toBe(1);
      expect((await delivery(accountId, id)).status).toBe('pending');
      expect(await claimedIds(LEASE.until + 1, 'w2')).toEqual([id]);
    });

    it('is given back by its owner only (a worker that stopped before taking it)', async () => {
      const { accountId, id } = await handedOver();
      await store.releaseLeases('w2', [id], T0 + 300);
      expect((await delivery(accountId, id)).status).toBe('delivering');
      await store.releaseLeases('w1', [id], T0 + 300);
      expect((await delivery(accountId, id)).status).toBe('pending');
      expect(await claimedIds(T0 + 300, 'w2')).toEqual([id]);
    });

    it('inserts nothing under a lease for a replayed idempotency key', async () => {
      const { account, endpoint } = await anAccountWithEndpoint();
      const idempotency = { key: 'req-1', requestHash: 'h' };
      const spec = { accountId: account.id, endpoints: [endpoint.id], idempotency };
      const first = await oneDelivery({ ...spec, receivedAt: T0 + 100 });
      const again = anIngestBatch({ ...spec, receivedAt: T0 + 200, lease: LEASE });
      expect(await store.ingest([again.batch])).toEqual([
        { kind: 'replayed', response: expect.any(String) },
      ]);
      expect(await store.getDelivery(account.id, again.ids[0]!)).toBeUndefined();
      const page = await store.listDeliveries({ accountId: account.id }, null, 10);
      expect(sortedIds(page.data)).toEqual([first]);
      expect(await claimedIds(T0 + 300, 'w2')).toEqual([first]);
    });
  });
}
