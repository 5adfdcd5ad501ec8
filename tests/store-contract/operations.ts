// The store contract, operations part: operational events stored with what raised them and
// dispatched once, the email outbox (gathering, one email an hour, leases, retries), and
// retention's small deletes. Registered by storeContract (contract.ts) on every adapter.

import { describe, expect, it } from 'vitest';
import { ALERT_EMAIL_GAP_MS } from '../../src/domain/alert-email.js';
import { newId, type AccountId, type DeliveryId, type EndpointId } from '../../src/domain/ids.js';
import type {
  AlertEmailRequest,
  EndpointRow,
  NewEvent,
  OperationalEventRecord,
  PurgeStep,
  PurgeTable,
  Store,
} from '../../src/store/port.js';
import {
  T0,
  aClaim,
  aResult,
  anAccount,
  anEndpoint,
  anIngestBatch,
  anOperationalEvent,
  nextVersion,
  whileRefusingHeld,
} from '../helpers/store.js';
import { contractHelpers, runningStore } from './helpers.js';

const MINUTE = 60_000;

export function operationsContract(current: () => Store): void {
  operationalEventRecordsContract(current);
  const store = (): Store => current();

  async function anAccountWithEndpoints(
    n: number,
    overrides: Partial<EndpointRow> = {},
  ): Promise<{ accountId: AccountId; endpoints: EndpointRow[] }> {
    const account = anAccount();
    await store().insertAccount(account);
    const endpoints: EndpointRow[] = [];
    for (let i = 0; i < n; i++) {
      const row = anEndpoint(account.id, T0 + i, overrides);
      await store().insertEndpoint(row);
      endpoints.push(row);
    }
    return { accountId: account.id, endpoints };
  }

  /** An operational event's event with one delivery per endpoint. */
  function fanOut(
    event: OperationalEventRecord,
    to: ReadonlyArray<{ endpointId: EndpointId; status: 'pending' | 'held' }>,
  ): NewEvent {
    return {
      event: {
        id: newId('event', event.createdAt),
        accountId: event.accountId,
        name: event.type,
        packageId: '',
        payload: JSON.stringify({ type: event.type, id: event.id }),
        receivedAt: event.createdAt,
      },
      deliveries: to.map((d) => ({
        id: newId('delivery', event.createdAt),
        endpointId: d.endpointId,
        status: d.status,
        orderingKey: null,
      })),
    };
  }

  function anEmail(
    accountId: AccountId,
    endpointId: EndpointId,
    at: number,
    overrides: Partial<AlertEmailRequest> = {},
  ): AlertEmailRequest {
    return {
      accountId,
      endpointId,
      type: 'endpoint.disabled',
      endpointUrl: 'https://listener.example.com/hook',
      endpointDescription: null,
      data: { reason: `at ${at}` },
      at,
      ...overrides,
    };
  }

  /** Raises and dispatches one event with only an email. */
  async function emailAbout(request: AlertEmailRequest): Promise<void> {
    const event = anOperationalEvent(request.accountId, request.at, {
      type: request.type,
      endpointId: request.endpointId,
    });
    await store().insertOperationalEvent(event);
    expect(
      await store().dispatchOperationalEvent({
        id: event.id,
        at: request.at,
        event: null,
        email: request,
      }),
    ).toBe(true);
  }

  /** Runs retention on a table to the end, `limit` rows a step; returns rows deleted. */
  async function purgeAll(table: PurgeTable, before: number, limit = 2): Promise<number> {
    let deleted = 0;
    let step: PurgeStep = { table, before, after: null, limit };
    for (let i = 0; i < 1000; i++) {
      const result = await store().purge(step);
      deleted += result.deleted;
      if (result.next === null) return deleted;
      step = { ...step, after: result.next };
    }
    throw new Error(`purge of ${table} did not finish`);
  }

  describe('traces', () => {
    it('keeps the traceparent of a publish with its event and hands it to the claim', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(1);
      const traceParent = `00-${'4b'.repeat(16)}-${'00f0'.repeat(4)}-01`;
      const traced = anIngestBatch({ accountId, endpoints: [endpoints[0]!.id], receivedAt: T0 });
      const plain = anIngestBatch({ accountId, endpoints: [endpoints[0]!.id], receivedAt: T0 });
      await store().ingest([
        { ...traced.batch, events: traced.batch.events.map((e) => ({ ...e, traceParent })) },
        plain.batch,
      ]);
      const claimed = await store().claimDeliveries(aClaim(T0 + 1));
      expect(Object.fromEntries(claimed.map((c) => [c.id, c.traceParent]))).toEqual({
        [traced.ids[0]!]: traceParent,
        [plain.ids[0]!]: null,
      });
    });
  });

  describe('operational events raised with what produced them', () => {
    it('an endpoint change stores its events in its transaction, a lost race none', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(1);
      const row = endpoints[0]!;
      const raised = anOperationalEvent(accountId, T0 + 10, { endpointId: row.id });
      const disabled = nextVersion(row, T0 + 10, { state: 'disabled' });
      expect(await store().updateEndpoint(disabled, [raised])).toBe(true);
      expect(await store().undispatchedOperationalEvents(10)).toEqual([raised]);

      // A write from a stale version loses, and so does what it would have raised.
      const stale = anOperationalEvent(accountId, T0 + 20, { endpointId: row.id });
      expect(await store().updateEndpoint(nextVersion(row, T0 + 20), [stale])).toBe(false);
      expect(await store().undispatchedOperationalEvents(10)).toEqual([raised]);
      expect((await store().listOperationalEvents(accountId, null, 10)).data).toEqual([raised]);
    });

    it('a result stores the event it raises only when the result applies', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(1);
      const batch = anIngestBatch({
        accountId,
        endpoints: [endpoints[0]!.id],
        receivedAt: T0,
        count: 2,
      });
      await store().ingest([batch.batch]);
      const [mine, lost] = batch.ids as [DeliveryId, DeliveryId];
      const claimed = await store().claimDeliveries(aClaim(T0, 'w1'));
      expect(claimed).toHaveLength(2);
      const exhausted = (deliveryId: DeliveryId, at: number) =>
        anOperationalEvent(accountId, at, {
          type: 'delivery.exhausted',
          endpointId: endpoints[0]!.id,
          deliveryId,
          data: { attempts: 3, lastError: 'HTTP 500' },
        });
      const raised = exhausted(mine, T0 + 5);
      await store().recordResults([
        aResult(mine, 'w1', 'failed', T0 + 5, { raised }),
        // Not this worker's lease: the result does not apply, nor does its event.
        aResult(lost, 'someone-else', 'failed', T0 + 5, { raised: exhausted(lost, T0 + 6) }),
      ]);
      expect(await store().undispatchedOperationalEvents(10)).toEqual([raised]);
      expect((await store().getDelivery(accountId, mine))?.status).toBe('failed');
      expect((await store().getDelivery(accountId, lost))?.status).toBe('delivering');
    });
  });

  describe('dispatching operational events', () => {
    it('fans out once: the event and its deliveries, then never again', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(3);
      const [subject, ops, parked] = endpoints as [EndpointRow, EndpointRow, EndpointRow];
      const first = anOperationalEvent(accountId, T0 + 10, { endpointId: subject.id });
      const second = anOperationalEvent(accountId, T0 + 20, { endpointId: subject.id });
      await store().insertOperationalEvent(second);
      await store().insertOperationalEvent(first);
      expect(idsOf(await store().undispatchedOperationalEvents(10))).toEqual([first.id, second.id]);
      expect(idsOf(await store().undispatchedOperationalEvents(1))).toEqual([first.id]);

      const event = fanOut(first, [
        { endpointId: ops.id, status: 'pending' },
        { endpointId: parked.id, status: 'held' },
      ]);
      const dispatch = { id: first.id, at: T0 + 30, event, email: null };
      expect(await store().dispatchOperationalEvent(dispatch)).toBe(true);
      // A second dispatcher (another process) finds it done and writes nothing.
      const again = fanOut(first, [{ endpointId: ops.id, status: 'pending' }]);
      expect(await store().dispatchOperationalEvent({ ...dispatch, event: again })).toBe(false);

      expect(idsOf(await store().undispatchedOperationalEvents(10))).toEqual([second.id]);
      expect(await store().getEvent(accountId, event.event.id)).toEqual(event.event);
      expect(await store().getEvent(accountId, again.event.id)).toBeUndefined();
      const deliveries = await store().listDeliveries({ accountId }, null, 10);
      expect(deliveries.data.map((d) => [d.endpointId, d.status, d.eventName]).sort()).toEqual(
        [
          [ops.id, 'pending', first.type],
          [parked.id, 'held', first.type],
        ].sort(),
      );
      const claimed = await store().claimDeliveries(aClaim(T0 + 40, 'w1'));
      expect(claimed.map((c) => [c.endpointId, c.payload])).toEqual([
        [ops.id, event.event.payload],
      ]);
    });

    it('skips deliveries to endpoints deleted meanwhile', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(2);
      const raised = anOperationalEvent(accountId, T0 + 10);
      await store().insertOperationalEvent(raised);
      await store().deleteEndpoint(accountId, endpoints[1]!.id);
      const event = fanOut(raised, [
        { endpointId: endpoints[0]!.id, status: 'pending' },
        { endpointId: endpoints[1]!.id, status: 'pending' },
      ]);
      expect(
        await store().dispatchOperationalEvent({ id: raised.id, at: T0, event, email: null }),
      ).toBe(true);
      const all = await store().listDeliveries({ accountId }, null, 10);
      expect(all.data.map((d) => d.endpointId)).toEqual([endpoints[0]!.id]);
    });
  });

  describe('the email outbox', () => {
    it('gathers events into the waiting email; leases it while it is sent', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(2);
      const [a, b] = endpoints as [EndpointRow, EndpointRow];
      await emailAbout(anEmail(accountId, a.id, T0));
      await emailAbout(anEmail(accountId, a.id, T0 + 10, { data: { reason: 'latest' } }));
      await emailAbout(anEmail(accountId, a.id, T0 + 20, { type: 'delivery.exhausted' }));
      await emailAbout(anEmail(accountId, b.id, T0 + 30));

      const claimed = await store().claimAlertEmails(T0 + 40, T0 + 40 + MINUTE, 10);
      expect(claimed.map((e) => [e.endpointId, e.type, e.count])).toEqual([
        [a.id, 'endpoint.disabled', 2],
        [a.id, 'delivery.exhausted', 1],
        [b.id, 'endpoint.disabled', 1],
      ]);
      const gathered = claimed[0]!;
      expect(gathered).toMatchObject({
        accountId,
        endpointUrl: 'https://listener.example.com/hook',
        data: { reason: 'latest' },
        firstAt: T0,
        lastAt: T0 + 10,
        dueAt: T0,
        attempts: 0,
        lastError: null,
      });
      // Leased: nobody else takes them until the lease runs out.
      expect(await store().claimAlertEmails(T0 + 50, T0 + 50 + MINUTE, 10)).toEqual([]);
      expect((await store().claimAlertEmails(T0 + 41 + MINUTE, T0 + 3 * MINUTE, 10)).length).toBe(
        3,
      );
    });

    it('sends at most one email an hour per endpoint and type; the rest go in the next', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(1);
      const id = endpoints[0]!.id;
      await emailAbout(anEmail(accountId, id, T0));
      const [first] = await store().claimAlertEmails(T0, T0 + MINUTE, 10);
      // Counted into it while it is being sent: not lost, not in this email.
      await emailAbout(anEmail(accountId, id, T0 + 1000, { data: { reason: 'while sending' } }));
      await store().finishAlertEmail(first!, { kind: 'sent', at: T0 + 2000 });
      await emailAbout(anEmail(accountId, id, T0 + 3000, { data: { reason: 'after' } }));

      expect(await store().claimAlertEmails(T0 + 2000 + ALERT_EMAIL_GAP_MS - 1, T0, 10)).toEqual(
        [],
      );
      const later = T0 + 2000 + ALERT_EMAIL_GAP_MS;
      const [next] = await store().claimAlertEmails(later, later + ALERT_EMAIL_GAP_MS, 10);
      expect(next).toMatchObject({ count: 2, data: { reason: 'after' }, dueAt: later });
      expect(await store().claimAlertEmails(later + 2 * MINUTE, later + 3 * MINUTE, 10)).toEqual(
        [],
      );
    });

    it('retries a failed send later and never sends a dropped one', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(2);
      await emailAbout(anEmail(accountId, endpoints[0]!.id, T0));
      await emailAbout(anEmail(accountId, endpoints[1]!.id, T0));
      const [retried, dropped] = await store().claimAlertEmails(T0, T0 + MINUTE, 10);
      await store().finishAlertEmail(retried!, {
        kind: 'retry',
        at: T0 + 10,
        retryAt: T0 + 5 * MINUTE,
        error: 'connection refused',
      });
      await store().finishAlertEmail(dropped!, {
        kind: 'dropped',
        at: T0 + 10,
        error: 'no contact address',
      });
      expect(await store().claimAlertEmails(T0 + 5 * MINUTE - 1, T0 + 6 * MINUTE, 10)).toEqual([]);
      const again = await store().claimAlertEmails(T0 + 5 * MINUTE, T0 + 60 * MINUTE, 10);
      expect(again.map((e) => [e.seq, e.attempts, e.lastError])).toEqual([
        [retried!.seq, 1, 'connection refused'],
      ]);
      // A dropped email is finished: the next event of its kind starts a new one at once.
      await emailAbout(anEmail(accountId, endpoints[1]!.id, T0 + 20 * MINUTE));
      const fresh = await store().claimAlertEmails(T0 + 20 * MINUTE, T0 + 21 * MINUTE, 10);
      expect(fresh.map((e) => [e.endpointId, e.count])).toEqual([[endpoints[1]!.id, 1]]);
    });
  });

  describe('retention', () => {
    const CUTOFF = T0 + 10 * MINUTE;

    it('deletes finished deliveries and their attempts, never unfinished or recent ones', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(1);
      const to = [endpoints[0]!.id];
      const old = anIngestBatch({ accountId, endpoints: to, receivedAt: T0, count: 6 });
      await store().ingest([old.batch]);
      const [succeeded, failed, pending, held, late, delivering] = old.ids as DeliveryId[];
      await settleAs([succeeded!, failed!, late!, held!], T0 + MINUTE, 'w1', (id) =>
        id === succeeded ? 'succeeded' : id === held ? 'held' : 'failed',
      );
      // Failed again after the cutoff (retried by hand): its last change is recent.
      await store().redeliver(accountId, late!, T0 + 2 * MINUTE);
      await settleAs([late!], CUTOFF + MINUTE, 'w1', () => 'failed');
      // One left pending, one in a worker's hands.
      const inFlight = await store().claimDeliveries(aClaim(T0 + 3 * MINUTE, 'w2'));
      await store().releaseLeases(
        'w2',
        inFlight.filter((c) => c.id !== delivering).map((c) => c.id),
        T0 + 3 * MINUTE,
      );
      const recent = anIngestBatch({ accountId, endpoints: to, receivedAt: CUTOFF + 1 });
      await store().ingest([recent.batch]);
      await settleAs([recent.ids[0]!], CUTOFF + 2, 'w1', () => 'succeeded');

      expect(await purgeAll('deliveries', CUTOFF)).toBe(2);
      expect(await store().getDelivery(accountId, succeeded!)).toBeUndefined();
      expect(await store().getDelivery(accountId, failed!)).toBeUndefined();
      expect(await store().listAttempts(succeeded!)).toEqual([]);
      expect(await store().listAttempts(failed!)).toEqual([]);
      for (const [id, status] of [
        [pending, 'pending'],
        [held, 'held'],
        [late, 'failed'],
        [delivering, 'delivering'],
        [recent.ids[0], 'succeeded'],
      ] as const) {
        expect((await store().getDelivery(accountId, id!))?.status).toBe(status);
      }
      expect(await store().listAttempts(late!)).toHaveLength(2);
      // A second pass finds nothing more.
      expect(await purgeAll('deliveries', CUTOFF, 100)).toBe(0);
    });

    it('deletes old events once no delivery refers to them', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(1);
      const to = [endpoints[0]!.id];
      const finished = anIngestBatch({ accountId, endpoints: to, receivedAt: T0, count: 3 });
      const unheard = anIngestBatch({ accountId, endpoints: [], receivedAt: T0 });
      const waiting = anIngestBatch({ accountId, endpoints: to, receivedAt: T0, status: 'held' });
      const recent = anIngestBatch({ accountId, endpoints: [], receivedAt: CUTOFF });
      await store().ingest([finished.batch, unheard.batch, waiting.batch, recent.batch]);
      await settleAs(finished.ids, T0 + MINUTE, 'w1', () => 'succeeded');
      expect(await purgeAll('events', CUTOFF)).toBe(1);
      expect(await purgeAll('deliveries', CUTOFF)).toBe(3);
      expect(await purgeAll('events', CUTOFF)).toBe(3);
      for (const e of [...finished.events, ...unheard.events]) {
        expect(await store().getEvent(accountId, e.id)).toBeUndefined();
      }
      expect(await store().getEvent(accountId, waiting.events[0]!.id)).toBeDefined();
      expect(await store().getEvent(accountId, recent.events[0]!.id)).toBeDefined();
    });

    it('frees old idempotency keys, dispatched operational events and finished emails', async () => {
      const { accountId, endpoints } = await anAccountWithEndpoints(1);
      const keyed = (at: number, key: string) =>
        anIngestBatch({
          accountId,
          endpoints: [],
          receivedAt: at,
          idempotency: { key, requestHash: 'h' },
        }).batch;
      await store().ingest([keyed(T0, 'old-1'), keyed(T0, 'old-2'), keyed(T0, 'old-3')]);
      await store().ingest([keyed(CUTOFF, 'new')]);
      expect(await purgeAll('idempotency_keys', CUTOFF)).toBe(3);
      // The old keys are free again; the recent one still replays.
      expect(await store().ingest([keyed(CUTOFF + 1, 'old-1')])).toEqual([{ kind: 'inserted' }]);
      expect((await store().ingest([keyed(CUTOFF + 1, 'new')]))[0]!.kind).toBe('replayed');

      const told = anOperationalEvent(accountId, T0);
      const untold = anOperationalEvent(accountId, T0 + 1);
      const recent = anOperationalEvent(accountId, CUTOFF);
      for (const e of [told, untold, recent]) await store().insertOperationalEvent(e);
      for (const e of [told, recent]) {
        await store().dispatchOperationalEvent({
          id: e.id,
          at: e.createdAt,
          event: null,
          email: null,
        });
      }
      expect(await purgeAll('operational_events', CUTOFF)).toBe(1);
      expect(idsOf((await store().listOperationalEvents(accountId, null, 10)).data).sort()).toEqual(
        [untold.id, recent.id].sort(),
      );

      await emailAbout(anEmail(accountId, endpoints[0]!.id, T0));
      await emailAbout(anEmail(accountId, endpoints[0]!.id, T0, { type: 'delivery.exhausted' }));
      const [sent] = await store().claimAlertEmails(T0, T0 + MINUTE, 1);
      await store().finishAlertEmail(sent!, { kind: 'sent', at: T0 + 1 });
      expect(await purgeAll('alert_emails', CUTOFF)).toBe(1);
      // The one still waiting stays.
      expect(await store().claimAlertEmails(CUTOFF, CUTOFF + MINUTE, 10)).toHaveLength(1);
    });
  });

  /** Claims the deliveries at `at` and records the status `statusOf` gives each. */
  async function settleAs(
    ids: readonly DeliveryId[],
    at: number,
    owner: string,
    statusOf: (id: DeliveryId) => 'succeeded' | 'failed' | 'held',
  ): Promise<void> {
    const claimed = await store().claimDeliveries(aClaim(at, owner, { limit: 1000 }));
    const wanted = new Set<string>(ids);
    const chosen = claimed.filter((c) => wanted.has(c.id));
    await whileRefusingHeld(
      store(),
      chosen.filter((c) => statusOf(c.id) === 'held').map((c) => c.endpointId),
      () =>
        store().recordResults(
          chosen.map((c) =>
            aResult(c.id, owner, statusOf(c.id), at, {
              attempts: c.attempts + 1,
              cycleAttempts: c.cycleAttempts + 1,
              attempt: attemptOf(c.id, c.attempts + 1, at),
            }),
          ),
        ),
    );
    await store().releaseLeases(
      owner,
      claimed.filter((c) => !wanted.has(c.id)).map((c) => c.id),
      at,
    );
  }
}

function attemptOf(deliveryId: DeliveryId, number: number, at: number) {
  return {
    id: newId('attempt', at),
    deliveryId,
    number,
    trigger: 'scheduled' as const,
    startedAt: at,
    durationMs: 5,
    statusCode: 200,
    outcome: 'success',
    error: null,
    responseBody: null,
  };
}

const idsOf = (items: readonly { readonly id: string }[]): string[] => items.map((i) => i.id);

/** Operational events stored and listed as they were raised. */
function operationalEventRecordsContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint, oneDelivery } = contractHelpers(store);

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
}
