// The worker's side of handover (queue/handover.ts) against a store whose claims the test
// answers: when it grants a lease for a new delivery (running, caught up, room in the worker and
// the lane), what makes it stop (a refusal, due work left that was not still being committed), and
// that reservations given back or adopted free their room. No delivery is sent here.

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AccountId, DeliveryId, EndpointId, EventId } from '../../src/domain/ids.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Handover } from '../../src/queue/handover.js';
import { WorkSignal } from '../../src/queue/work-signal.js';
import { Worker, type WorkerOptions } from '../../src/queue/worker.js';
import type { ClaimedDelivery, ClaimQuery } from '../../src/store/port.js';

const NOW = 1_750_000_000_000;
const LEASE_MS = 30_000;
const E = 'ep_e' as EndpointId;
const F = 'ep_f' as EndpointId;
const G = 'ep_g' as EndpointId;

/** An endpoint's options as the ingest passes them. */
function opts(maxConcurrency: number, rateLimit: number | null = null) {
  return { maxConcurrency, rateLimit };
}

/** A handed-over delivery to `endpointId` (payload `{}`, as reserved with length 2). */
function delivery(endpointId: EndpointId, n = 1): ClaimedDelivery {
  return {
    id: `dlv_${endpointId}_${n}` as DeliveryId,
    eventId: `evt_${n}` as EventId,
    endpointId,
    accountId: 'acc_1' as AccountId,
    payload: '{}',
    attempts: 0,
    cycleAttempts: 0,
    endpointVersion: 1,
    manual: false,
    traceParent: null,
  };
}

/** A store whose claims find nothing, and whose next due time the test sets. */
function fakeStore() {
  const state = {
    claims: [] as ClaimQuery[],
    looks: 0,
    nextDue: null as number | null,
    /** While set, claims wait for it. */
    gate: null as Promise<void> | null,
    released: [] as { owner: string; ids: readonly DeliveryId[] }[],
  };
  const store = {
    capabilities: { concurrentWorkers: true, crossProcessWakeups: false, singleProcess: true },
    async claimDeliveries(q: ClaimQuery): Promise<ClaimedDelivery[]> {
      state.claims.push(q);
      if (state.gate) await state.gate;
      return [];
    },
    async nextDueAt() {
      const next = state.nextDue;
      state.looks++;
      return next;
    },
    async releaseLeases(owner: string, ids: readonly DeliveryId[]) {
      state.released.push({ owner, ids });
    },
    renewLeases: async () => undefined,
    recoverLeases: async () => 0,
    releaseStrandedHolds: async () => 0,
    recordResults: async () => undefined,
  };
  return { state, store: store as unknown as WorkerOptions['store'] };
}

/** Waits until the claim loop has looked at what is due more than `looks` times, and settled. */
async function lookedPast(state: { looks: number }, looks: number): Promise<void> {
  await vi.waitFor(() => expect(state.looks).toBeGreaterThan(looks));
  await new Promise((r) => setImmediate(r));
}

/** Wakes the claim loop and waits until its claim (and its look at what is due) is done. */
function claimAndLook(state: { looks: number }, signal: WorkSignal): Promise<void> {
  const looks = state.looks;
  signal.notify();
  return lookedPast(state, looks);
}

describe('the worker taking handovers', () => {
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.stop(100);
    worker = undefined;
  });

  function aWorker(concurrency = 16) {
    const { state, store } = fakeStore();
    const signal = new WorkSignal();
    const handover = new Handover();
    worker = new Worker({
      store,
      dispatcher: {} as WorkerOptions['dispatcher'],
      endpoints: {} as WorkerOptions['endpoints'],
      signal,
      logger: silentLogger(),
      clock: () => NOW,
      owner: 'w1',
      concurrency,
      leaseMs: LEASE_MS,
      // Only a notify wakes the claim loop.
      pollIntervalMs: 60_000,
      handover,
    });
    return { worker, state, signal, handover, claimed: () => claimAndLook(state, signal) };
  }

  async function started(concurrency = 16) {
    const made = aWorker(concurrency);
    await made.worker.start();
    await lookedPast(made.state, 0);
    return made;
  }

  it('grants a lease once its first claim found nothing due, and is the handover taker', async () => {
    const made = aWorker();
    expect(made.worker.reserve(E, opts(32), 2)).toBeNull();
    await made.worker.start();
    await lookedPast(made.state, 0);
    expect(made.handover.current()).toBe(made.worker);
    expect(made.worker.reserve(E, opts(32), 2)).toEqual({ owner: 'w1', until: NOW + LEASE_MS });
    await made.worker.stop(100);
    expect(made.handover.current()).toBeNull();
    expect(made.worker.reserve(F, opts(32), 2)).toBeNull();
  });

  it('grants nothing while a claim left due work in the store', async () => {
    const made = aWorker();
    made.state.nextDue = NOW - 1000;
    await made.worker.start();
    await lookedPast(made.state, 0);
    expect(made.worker.reserve(E, opts(32), 2)).toBeNull();
    // A retry due later is not due work.
    made.state.nextDue = NOW + 1000;
    await made.claimed();
    expect(made.worker.reserve(E, opts(32), 2)).not.toBeNull();
  });

  it("holds an endpoint's lane to twice its maxConcurrency, counting reservations", async () => {
    const { worker: w } = await started();
    expect(w.reserve(E, opts(1), 2)).not.toBeNull();
    expect(w.reserve(E, opts(1), 2)).not.toBeNull();
    expect(w.reserve(E, opts(1), 2)).toBeNull();
  });

  it('after a refusal grants nothing, to any endpoint, until a claim has taken what was queued', async () => {
    const { worker: w, claimed } = await started();
    w.reserve(E, opts(1), 2);
    w.reserve(E, opts(1), 2);
    // Refused: the delivery goes to the store, ahead of anything published after it.
    expect(w.reserve(E, opts(1), 2)).toBeNull();
    expect(w.reserve(F, opts(32), 2)).toBeNull();
    await claimed();
    expect(w.reserve(F, opts(32), 2)).not.toBeNull();
  });

  it('takes due work still being committed when a claim began for that, not for a backlog', async () => {
    const { worker: w, state, claimed } = await started();
    w.reserve(E, opts(1), 2);
    w.reserve(E, opts(1), 2);
    // Refused (the lane is full): behind until a claim has looked.
    expect(w.reserve(E, opts(1), 2)).toBeNull();
    expect(w.reserve(F, opts(32), 2)).toBeNull();
    // The refused delivery is on its way to the store when the claim begins, and committed
    // before its look at what is due: the claim could not see it, so it is not a backlog (the
    // next claim, which its commit wakes, takes it). Handovers go on meanwhile.
    w.committing(NOW - 100, 1);
    state.nextDue = NOW - 100;
    await claimed();
    w.committed(NOW - 100, 1);
    expect(w.reserve(F, opts(32), 2)).not.toBeNull();
    // Committed before the claim began and left due: a backlog. Nothing goes ahead of it.
    expect(w.reserve(E, opts(1), 2)).toBeNull();
    await claimed();
    expect(w.reserve(F, opts(32), 2)).toBeNull();
  });

  it('counts reservations against its own capacity, and gives back cancelled ones', async () => {
    // Concurrency 1: room for two deliveries in all (in flight and waiting).
    const { worker: w } = await started(1);
    expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    expect(w.reserve(F, opts(32), 2)).not.toBeNull();
    w.cancel(delivery(E));
    w.cancel(delivery(F));
    expect(w.reserve(G, opts(32), 2)).not.toBeNull();
    expect(w.reserve(G, opts(32), 2)).not.toBeNull();
    w.cancel(delivery(G, 1));
    w.cancel(delivery(G, 2));
    expect(w.reserve(E, opts(1), 2)).not.toBeNull();
    expect(w.reserve(E, opts(1), 2)).not.toBeNull();
    w.cancel(delivery(E, 1));
    w.cancel(delivery(E, 2));
    expect(w.reserve(E, opts(1), 2)).not.toBeNull();
    expect(w.reserve(F, opts(32), 2)).not.toBeNull();
    // Two reserved: no room left in the worker, whatever the lane.
    expect(w.reserve(G, opts(32), 2)).toBeNull();
  });

  it('gives back what is adopted after it stopped, as leases released', async () => {
    const { worker: w, state } = await started();
    expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    await w.stop(100);
    const d = delivery(E);
    w.adopt([d]);
    await vi.waitFor(() => expect(state.released).toEqual([{ owner: 'w1', ids: [d.id] }]));
  });
});

describe('the worker keeping handed-over deliveries in memory (HERALD_HANDOVER_MEMORY)', () => {
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.stop(100);
    worker = undefined;
  });

  /**
   * A worker of `concurrency` (1: room to send soon for two deliveries) with `handoverBytes` of
   * memory, a dispatcher whose sends the test answers, and endpoints E, F of the given options.
   */
  async function deepWorker(handoverBytes: number, options = opts(32), concurrency = 1) {
    const { state, store } = fakeStore();
    const clock = { now: NOW };
    const sends: Array<{
      c: ClaimedDelivery;
      version: number;
      answer: (durationMs: number) => void;
    }> = [];
    const dispatcher = {
      run: (c: ClaimedDelivery, endpoint: { version: number }) =>
        new Promise((resolve) =>
          sends.push({
            c,
            version: endpoint.version,
            answer: (durationMs) =>
              resolve({
                deliveryId: c.id,
                owner: 'w1',
                status: 'succeeded',
                nextAttemptAt: null,
                attempts: 1,
                cycleAttempts: 1,
                lastStatusCode: 200,
                lastError: null,
                updatedAt: clock.now,
                attempt: {
                  id: `att_${c.id}`,
                  deliveryId: c.id,
                  number: 1,
                  trigger: 'initial',
                  startedAt: clock.now - durationMs,
                  durationMs,
                  statusCode: 200,
                  outcome: 'success',
                  error: null,
                  responseBody: null,
                },
                raised: null,
              }),
          }),
        ),
    };
    /** The endpoints' current version, and whether loading them fails. */
    const stored = { version: 1, failing: false };
    const endpoints = {
      get: async (id: EndpointId) => {
        if (stored.failing) throw new Error('the store is unavailable');
        return {
          id,
          version: stored.version,
          options: { ...options, timeoutMs: 15_000, ordering: 'none', retrySchedule: null },
        };
      },
      invalidate: () => undefined,
    };
    const signal = new WorkSignal();
    worker = new Worker({
      store,
      dispatcher: dispatcher as unknown as WorkerOptions['dispatcher'],
      endpoints: endpoints as unknown as WorkerOptions['endpoints'],
      signal,
      logger: silentLogger(),
      clock: () => clock.now,
      owner: 'w1',
      concurrency,
      leaseMs: LEASE_MS,
      pollIntervalMs: 60_000,
      handover: new Handover(),
      handoverBytes,
    });
    await worker.start();
    await lookedPast(state, 0);
    const w = worker;
    /** Reserves until refused (at most 10,000): how many were granted. */
    const fill = (endpointId: EndpointId, o = options): number => {
      let n = 0;
      while (n < 10_000 && w.reserve(endpointId, o, 2) !== null) n++;
      return n;
    };
    /** One delivery to `endpointId` sent and answered in `durationMs`: the endpoint has answered. */
    const answered = async (endpointId: EndpointId, durationMs: number): Promise<void> => {
      expect(w.reserve(endpointId, options, 2)).not.toBeNull();
      const sent = sends.length;
      w.adopt([delivery(endpointId, 1000 + sent)]);
      await vi.waitFor(() => expect(sends.length).toBe(sent + 1));
      sends[sent]!.answer(durationMs);
      await vi.waitFor(() => expect(w.stats.inflight).toBe(0));
    };
    const claimed = () => claimAndLook(state, signal);
    return { w, state, clock, sends, stored, fill, answered, claimed };
  }

  it('keeps no more than it can send soon for an endpoint that has not answered it yet', async () => {
    const { fill } = await deepWorker(64 * 1024 * 1024);
    expect(fill(E)).toBe(2);
  });

  it("keeps a quarter of a lease of an answering endpoint's work, beyond its own room", async () => {
    const { fill, answered } = await deepWorker(64 * 1024 * 1024);
    // One at a time (concurrency 1), 100 ms each: 75 in 7.5 s (a quarter of the 30-s lease).
    await answered(E, 100);
    expect(fill(E)).toBe(75);
  });

  it('keeps nothing beyond its room with no memory for it', async () => {
    const { fill, answered } = await deepWorker(0);
    await answered(E, 1);
    expect(fill(E)).toBe(2);
  });

  it('counts what it keeps against its memory until each is sent', async () => {
    // Room for five deliveries of a two-character payload (heldBytes 402 each).
    const { w, fill, answered, sends, claimed } = await deepWorker(5 * 402);
    await answered(E, 1);
    for (let i = 0; i < 5; i++) expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    w.adopt(Array.from({ length: 5 }, (_, i) => delivery(E, i)));
    // One is sent at a time; the four waiting still count, the one in flight no longer does.
    await vi.waitFor(() => expect(sends.length).toBe(2));
    expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    expect(w.reserve(E, opts(32), 2)).toBeNull();
    w.cancel(delivery(E, 99));
    for (let i = 1; i <= 5; i++) {
      await vi.waitFor(() => expect(sends.length).toBe(1 + i));
      sends[i]!.answer(1);
    }
    await vi.waitFor(() => expect(w.stats).toMatchObject({ inflight: 0, buffered: 0 }));
    // All sent, and a claim found nothing due after the refusal: the memory is free again.
    await claimed();
    expect(fill(E)).toBe(5);
  });

  it('holds an endpoint with a rate limit to a quarter of a lease at its rate', async () => {
    const { fill, answered } = await deepWorker(64 * 1024 * 1024, opts(32, 2));
    await answered(E, 1);
    expect(fill(E)).toBe(15);
  });

  it('stops keeping work for a listener that has stopped answering', async () => {
    const { w, clock, sends, answered } = await deepWorker(64 * 1024 * 1024);
    await answered(E, 10);
    // One sent and not answered: the lane is waiting.
    expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    w.adopt([delivery(E, 1)]);
    await vi.waitFor(() => expect(sends.length).toBe(2));
    // Five seconds later, it is judged at five seconds an answer: a quarter of the lease (7.5 s)
    // is room for 1.5, and one is out. The next is granted as room to send soon (the worker
    // sends two at once), the one after that is refused: no room to keep more.
    clock.now += 5000;
    expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    expect(w.reserve(E, opts(32), 2)).toBeNull();
  });

  it('starts nothing more once stopping, and gives back what it kept', async () => {
    const { w, state, sends, answered } = await deepWorker(64 * 1024 * 1024);
    await answered(E, 1);
    for (let i = 0; i < 5; i++) expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    const kept = Array.from({ length: 5 }, (_, i) => delivery(E, i));
    w.adopt(kept);
    await vi.waitFor(() => expect(sends.length).toBe(2));
    const stopping = w.stop(5000);
    // The one in flight finishes while the worker stops: its slot is not used for the next.
    sends[1]!.answer(1);
    await stopping;
    expect(sends.length).toBe(2);
    expect(state.released.flatMap((r) => r.ids)).toEqual(kept.slice(1).map((d) => d.id));
  });

  it('sends nothing with its old copy of a changed endpoint while the new one fails to load', async () => {
    const { w, sends, stored, answered } = await deepWorker(64 * 1024 * 1024);
    await answered(E, 1);
    for (let i = 0; i < 3; i++) expect(w.reserve(E, opts(32), 2)).not.toBeNull();
    w.adopt(Array.from({ length: 3 }, (_, i) => delivery(E, i)));
    await vi.waitFor(() => expect(sends.length).toBe(2));
    // Changed here to version 2; loading it fails for now.
    stored.version = 2;
    stored.failing = true;
    w.endpointChanged(E, 2);
    sends[1]!.answer(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(sends.length).toBe(2);
    // Loaded again (a second later): the rest goes with version 2.
    stored.failing = false;
    await vi.waitFor(() => expect(sends.length).toBe(3), { timeout: 3000 });
    expect(sends[2]!.version).toBe(2);
  });

  it('keeps nothing for an endpoint that last answered longer ago than the horizon', async () => {
    const { fill, answered, clock } = await deepWorker(64 * 1024 * 1024);
    await answered(E, 10);
    clock.now += LEASE_MS / 4 + 1;
    expect(fill(E)).toBe(2);
  });

  it('goes on claiming for other endpoints while a lane holds what handovers kept', async () => {
    // Concurrency 4 (room for 8), E at most 2 at once: claims would fill its lane to 4.
    const { w, state, answered, claimed } = await deepWorker(64 * 1024 * 1024, opts(2), 4);
    await answered(E, 1);
    for (let i = 0; i < 8; i++) expect(w.reserve(E, opts(2), 2)).not.toBeNull();
    w.adopt(Array.from({ length: 8 }, (_, i) => delivery(E, i)));
    // Eight held: the worker's room is used up, but four of them are beyond E's claim fill.
    await claimed();
    expect(state.claims.at(-1)).toMatchObject({ limit: 4, skipEndpoints: [E] });
    // Nothing due in the store, nothing being committed: still caught up, handovers go on.
    expect(w.reserve(E, opts(2), 2)).not.toBeNull();
    // A retry came due: E's lane was skipped, so it may be E's; nothing more until it is taken.
    state.nextDue = NOW - 1;
    await claimed();
    expect(w.reserve(E, opts(2), 2)).toBeNull();
  });

  it('gives a slot that a long lane frees to a lane waiting for one first', async () => {
    // Concurrency 2, both endpoints at most 2 at once: E's lane takes both slots.
    const { w, sends, answered } = await deepWorker(64 * 1024 * 1024, opts(2), 2);
    await answered(E, 1);
    await answered(F, 1);
    for (let i = 0; i < 8; i++) expect(w.reserve(E, opts(2), 2)).not.toBeNull();
    w.adopt(Array.from({ length: 8 }, (_, i) => delivery(E, i)));
    await vi.waitFor(() => expect(sends.length).toBe(4));
    expect(w.reserve(F, opts(2), 2)).not.toBeNull();
    w.adopt([delivery(F, 1)]);
    await new Promise((r) => setImmediate(r));
    expect(sends.length).toBe(4);
    sends[2]!.answer(1);
    await vi.waitFor(() => expect(sends.length).toBe(5));
    expect(sends[4]!.c.endpointId).toBe(F);
  });
});
