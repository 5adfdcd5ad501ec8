// The store contract, continued: what the console reads. Delivery activity counted by
// recordResults (per minute, by outcome, latency buckets, per endpoint with its latest error),
// one account's queue, and the event search. Called from contract.ts, so it runs on every adapter.

import { beforeEach, describe, expect, it } from 'vitest';
import { latencyBucket } from '../../src/domain/latency.js';
import type { AccountId, EndpointId } from '../../src/domain/ids.js';
import { ACTIVITY_KEEP_MS } from '../../src/store/activity.js';
import type { Store } from '../../src/store/port.js';
import {
  T0,
  aClaim,
  aResult,
  anAccount,
  anEndpoint,
  anIngestBatch,
  settleDeliveries,
  type BatchSpec,
  type BuiltBatch,
} from '../helpers/store.js';

const MINUTE = 60_000;

export function consoleQueriesContract(current: () => Store): void {
  describe('what the console reads', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    async function accountWithEndpoints(n = 1, now = T0) {
      const account = anAccount(now);
      await store.insertAccount(account);
      const endpoints: EndpointId[] = [];
      for (let i = 0; i < n; i++) {
        const row = anEndpoint(account.id, now + i);
        await store.insertEndpoint(row);
        endpoints.push(row.id);
      }
      return { accountId: account.id, endpoints };
    }

    async function ingest(spec: BatchSpec): Promise<BuiltBatch> {
      const built = anIngestBatch(spec);
      expect(await store.ingest([built.batch])).toEqual([{ kind: 'inserted' }]);
      return built;
    }

    describe('delivery activity', () => {
      it('counts each recorded attempt by minute and outcome, and succeeded ones by latency', async () => {
        const { accountId, endpoints } = await accountWithEndpoints();
        const spec = { accountId, endpoints, receivedAt: T0 };
        const fast = await ingest({ ...spec, count: 2 });
        const slow = await ingest(spec);
        const retry = await ingest(spec);
        const exhausted = await ingest(spec);
        await settleDeliveries(store, fast.ids, 'succeeded', T0 + 40);
        await settleDeliveries(store, retry.ids, 'pending', T0 + 50, { lastError: 'HTTP 503' });
        await settleDeliveries(store, exhausted.ids, 'failed', T0 + MINUTE + 5, {
          lastError: 'HTTP 500',
        });
        await settleDeliveries(store, slow.ids, 'succeeded', T0 + MINUTE + 10);

        const activity = await store.deliveryActivity(accountId, T0);
        expect(activity.minutes).toEqual([
          { minute: T0, outcome: 'retried', count: 1 },
          { minute: T0, outcome: 'succeeded', count: 2 },
          { minute: T0 + MINUTE, outcome: 'failed', count: 1 },
          { minute: T0 + MINUTE, outcome: 'succeeded', count: 1 },
        ]);
        expect(activity.latency).toEqual([
          { bucket: latencyBucket(40), count: 2 },
          { bucket: latencyBucket(MINUTE + 10), count: 1 },
        ]);
        // Only what happened since the time asked for.
        expect((await store.deliveryActivity(accountId, T0 + MINUTE)).minutes).toEqual([
          { minute: T0 + MINUTE, outcome: 'failed', count: 1 },
          { minute: T0 + MINUTE, outcome: 'succeeded', count: 1 },
        ]);
      });

      it('counts neither results whose lease was lost nor results without an attempt', async () => {
        const { accountId, endpoints } = await accountWithEndpoints();
        const built = await ingest({ accountId, endpoints, receivedAt: T0, count: 2 });
        const claimed = await store.claimDeliveries(aClaim(T0, 'w1'));
        expect(claimed).toHaveLength(2);
        await store.recordResults([
          aResult(built.ids[0]!, 'somebody-else', 'succeeded', T0 + 10),
          aResult(built.ids[1]!, 'w1', 'held', T0 + 10, { attempt: null }),
        ]);
        expect(await store.deliveryActivity(accountId, T0)).toEqual({ minutes: [], latency: [] });
      });

      it('keeps accounts apart, and sums every account for the operator', async () => {
        const a = await accountWithEndpoints();
        const b = await accountWithEndpoints();
        const inA = await ingest({ ...a, receivedAt: T0 });
        const inB = await ingest({ ...b, receivedAt: T0, count: 3 });
        await settleDeliveries(store, [...inA.ids, ...inB.ids], 'succeeded', T0 + 5);
        const count = async (accountId: AccountId | null) =>
          (await store.deliveryActivity(accountId, T0)).minutes.map((m) => m.count);
        expect(await count(a.accountId)).toEqual([1]);
        expect(await count(b.accountId)).toEqual([3]);
        expect(await count(null)).toEqual([4]);
      });

      it('gives per-endpoint counts and the latest error of each endpoint', async () => {
        const { accountId, endpoints } = await accountWithEndpoints(3);
        const [one, two, quiet] = endpoints as [EndpointId, EndpointId, EndpointId];
        const toOne = await ingest({ accountId, endpoints: [one], receivedAt: T0, count: 3 });
        const toTwo = await ingest({ accountId, endpoints: [two], receivedAt: T0, count: 2 });
        await settleDeliveries(store, [toOne.ids[0]!], 'pending', T0 + 10, {
          lastError: 'HTTP 503 early',
        });
        await settleDeliveries(store, [toOne.ids[1]!], 'failed', T0 + 2 * MINUTE, {
          lastError: 'HTTP 500 late',
        });
        await settleDeliveries(store, [toOne.ids[2]!], 'succeeded', T0 + 3 * MINUTE);
        await settleDeliveries(store, toTwo.ids, 'succeeded', T0 + 20);

        const activity = await store.endpointActivity(accountId, T0);
        expect(activity).toEqual(
          [
            {
              endpointId: one,
              succeeded: 1,
              retried: 1,
              failed: 1,
              lastError: 'HTTP 500 late',
              lastErrorAt: T0 + 2 * MINUTE,
            },
            {
              endpointId: two,
              succeeded: 2,
              retried: 0,
              failed: 0,
              lastError: null,
              lastErrorAt: null,
            },
          ].sort((x, y) => (x.endpointId < y.endpointId ? -1 : 1)),
        );
        expect(activity.map((a) => a.endpointId)).not.toContain(quiet);
        const other = await accountWithEndpoints();
        expect(await store.endpointActivity(other.accountId, T0)).toEqual([]);
      });

      it('forgets activity older than it keeps, and the activity of a deleted endpoint', async () => {
        const { accountId, endpoints } = await accountWithEndpoints(2);
        const [kept, deleted] = endpoints as [EndpointId, EndpointId];
        const early = await ingest({ accountId, endpoints: [kept], receivedAt: T0 });
        await settleDeliveries(store, early.ids, 'succeeded', T0 + 10);
        const later = T0 + ACTIVITY_KEEP_MS + 5 * MINUTE;
        const late = await ingest({ accountId, endpoints, receivedAt: later });
        await settleDeliveries(store, late.ids, 'succeeded', later + 10);
        const minutes = (await store.deliveryActivity(accountId, 0)).minutes;
        expect(minutes).toEqual([
          { minute: later - (later % MINUTE), outcome: 'succeeded', count: 2 },
        ]);
        await store.deleteEndpoint(accountId, deleted);
        expect((await store.endpointActivity(accountId, 0)).map((a) => a.endpointId)).toEqual([
          kept,
        ]);
      });
    });

    describe('accountQueueStats', () => {
      it("counts one account's deliveries by status", async () => {
        const a = await accountWithEndpoints(2);
        const b = await accountWithEndpoints();
        const due = await ingest({ ...a, receivedAt: T0 + 100 });
        await ingest({ ...a, receivedAt: T0 + 5000 });
        await ingest({ ...a, receivedAt: T0 + 100, status: 'held' });
        await ingest({ ...b, receivedAt: T0 + 10, count: 4 });
        await ingest({ ...b, receivedAt: T0 + 10, status: 'held' });
        const failing = await ingest({ ...a, endpoints: [a.endpoints[0]!], receivedAt: T0 + 50 });
        await settleDeliveries(store, failing.ids, 'failed', T0 + 60);
        const claimed = await store.claimDeliveries(
          aClaim(T0 + 1000, 'w', { limit: 1, skipEndpoints: b.endpoints, thorough: true }),
        );
        expect(claimed).toHaveLength(1);
        expect(due.ids).toContain(claimed[0]!.id);

        expect(await store.accountQueueStats(a.accountId, T0 + 1000)).toEqual({
          pending: 3,
          due: 1,
          delivering: 1,
          held: 2,
          failed: 1,
          oldestDueAt: T0 + 100,
        });
        expect(await store.accountQueueStats(b.accountId, T0 + 1000)).toEqual({
          pending: 4,
          due: 4,
          delivering: 0,
          held: 1,
          failed: 0,
          oldestDueAt: T0 + 10,
        });
      });
    });

    describe('searchEvents', () => {
      it('finds events by package id and by name, newest first, one account only', async () => {
        const a = await accountWithEndpoints();
        const b = await accountWithEndpoints();
        const first = await ingest({ ...a, receivedAt: T0, packageId: 'pkg-1' });
        const other = await ingest({ ...a, receivedAt: T0 + 1, packageId: 'pkg-2' });
        const second = await ingest({
          ...a,
          receivedAt: T0 + 2,
          packageId: 'pkg-1',
          name: 'PACKAGE_CREATE',
        });
        await ingest({ ...b, receivedAt: T0 + 3, packageId: 'pkg-1' });

        const ids = async (filter: { packageId?: string; name?: string }) =>
          (await store.searchEvents({ accountId: a.accountId, ...filter }, null, 50)).data.map(
            (e) => e.id,
          );
        expect(await ids({ packageId: 'pkg-1' })).toEqual([
          second.events[0]!.id,
          first.events[0]!.id,
        ]);
        expect(await ids({ name: 'PACKAGE_COMPLETE' })).toEqual([
          other.events[0]!.id,
          first.events[0]!.id,
        ]);
        expect(await ids({ packageId: 'pkg-1', name: 'PACKAGE_CREATE' })).toEqual([
          second.events[0]!.id,
        ]);
        expect(await ids({})).toHaveLength(3);
        expect(await ids({ packageId: 'nothing' })).toEqual([]);
        const found = await store.searchEvents({ accountId: a.accountId }, null, 1);
        expect(found.data[0]).toEqual(second.events[0]);
      });

      it('limits by the time received, [since, until), and pages with a cursor', async () => {
        const a = await accountWithEndpoints();
        const events = [];
        for (let i = 0; i < 5; i++) {
          events.push((await ingest({ ...a, receivedAt: T0 + i * 1000 })).events[0]!);
        }
        const search = (since?: number, until?: number, cursor: string | null = null, limit = 50) =>
          store.searchEvents({ accountId: a.accountId, since, until }, cursor, limit);
        expect((await search(T0 + 1000, T0 + 3000)).data.map((e) => e.id)).toEqual([
          events[2]!.id,
          events[1]!.id,
        ]);
        expect((await search(T0 + 3000)).data).toHaveLength(2);
        expect((await search(undefined, T0 + 1)).data.map((e) => e.id)).toEqual([events[0]!.id]);

        const page1 = await search(undefined, undefined, null, 2);
        expect(page1.data.map((e) => e.id)).toEqual([events[4]!.id, events[3]!.id]);
        const page2 = await search(undefined, undefined, page1.next, 2);
        expect(page2.data.map((e) => e.id)).toEqual([events[2]!.id, events[1]!.id]);
        const page3 = await search(undefined, undefined, page2.next, 2);
        expect(page3).toEqual({ data: [events[0]], next: null });
      });
    });
  });
}
