// The store contract, ingest part (IngestStore): publish batches committed whole, idempotency
// keys, deliveries only to endpoints that exist, reading events. Registered by storeContract
// (contract.ts) on every adapter.

import { describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.js';
import type { Store } from '../../src/store/port.js';
import { T0, anAccount, anIngestBatch } from '../helpers/store.js';
import { contractHelpers, idsOf, runningStore, sortedIds } from './helpers.js';

export function ingestContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, addEndpoint, ingest, oneDelivery, delivery, claimedIds } =
    contractHelpers(store);

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
      expect((await store.listDeliveries({ accountId: account.id }, null, 10)).data).toEqual([]);
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
}
