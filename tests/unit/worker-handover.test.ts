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
    /** Wakes the claim loop and waits until its claim (and its look at what is due) is done. */
    async function claimed(): Promise<void> {
      const looks = state.looks;
      signal.notify();
      await vi.waitFor(() => expect(state.looks).toBeGreaterThan(looks));
      await new Promise((r) => setImmediate(r));
    }
    return { worker, state, signal, handover, claimed };
  }

  async function started(concurrency = 16) {
    const made = aWorker(concurrency);
    await made.worker.start();
    await vi.waitFor(() => expect(made.state.looks).toBeGreaterThan(0));
    await new Promise((r) => setImmediate(r));
    return made;
  }

  it('grants a lease once its first claim found nothing due, and is the handover taker', async () => {
    const made = aWorker();
    expect(made.worker.reserve(E, 32)).toBeNull();
    await made.worker.start();
    await vi.waitFor(() => expect(made.state.looks).toBeGreaterThan(0));
    await new Promise((r) => setImmediate(r));
    expect(made.handover.current()).toBe(made.worker);
    expect(made.worker.reserve(E, 32)).toEqual({ owner: 'w1', until: NOW + LEASE_MS });
    await made.worker.stop(100);
    expect(made.handover.current()).toBeNull();
    expect(made.worker.reserve(F, 32)).toBeNull();
  });

  it('grants nothing while a claim left due work in the store', async () => {
    const made = aWorker();
    made.state.nextDue = NOW - 1000;
    await made.worker.start();
    await vi.waitFor(() => expect(made.state.looks).toBeGreaterThan(0));
    await new Promise((r) => setImmediate(r));
    expect(made.worker.reserve(E, 32)).toBeNull();
    // A retry due later is not due work.
    made.state.nextDue = NOW + 1000;
    await made.claimed();
    expect(made.worker.reserve(E, 32)).not.toBeNull();
  });

  it("holds an endpoint's lane to twice its maxConcurrency, counting reservations", async () => {
    const { worker: w } = await started();
    expect(w.reserve(E, 1)).not.toBeNull();
    expect(w.reserve(E, 1)).not.toBeNull();
    expect(w.reserve(E, 1)).toBeNull();
  });

  it('after a refusal grants nothing, to any endpoint, until a claim has taken what was queued', async () => {
    const { worker: w, claimed } = await started();
    w.reserve(E, 1);
    w.reserve(E, 1);
    // Refused: the delivery goes to the store, ahead of anything published after it.
    expect(w.reserve(E, 1)).toBeNull();
    expect(w.reserve(F, 32)).toBeNull();
    await claimed();
    expect(w.reserve(F, 32)).not.toBeNull();
  });

  it('takes due work still being committed when a claim began for that, not for a backlog', async () => {
    const { worker: w, state, claimed } = await started();
    w.reserve(E, 1);
    w.reserve(E, 1);
    // Refused (the lane is full): behind until a claim has looked.
    expect(w.reserve(E, 1)).toBeNull();
    expect(w.reserve(F, 32)).toBeNull();
    // The refused delivery is on its way to the store when the claim begins, and committed
    // before its look at what is due: the claim could not see it, so it is not a backlog (the
    // next claim, which its commit wakes, takes it). Handovers go on meanwhile.
    w.committing(NOW - 100, 1);
    state.nextDue = NOW - 100;
    await claimed();
    w.committed(NOW - 100, 1);
    expect(w.reserve(F, 32)).not.toBeNull();
    // Committed before the claim began and left due: a backlog. Nothing goes ahead of it.
    expect(w.reserve(E, 1)).toBeNull();
    await claimed();
    expect(w.reserve(F, 32)).toBeNull();
  });

  it('counts reservations against its own capacity, and gives back cancelled ones', async () => {
    // Concurrency 1: room for two deliveries in all (in flight and waiting).
    const { worker: w } = await started(1);
    expect(w.reserve(E, 32)).not.toBeNull();
    expect(w.reserve(F, 32)).not.toBeNull();
    w.cancel(E, 1);
    w.cancel(F, 1);
    expect(w.reserve(G, 32)).not.toBeNull();
    expect(w.reserve(G, 32)).not.toBeNull();
    w.cancel(G, 2);
    expect(w.reserve(E, 1)).not.toBeNull();
    expect(w.reserve(E, 1)).not.toBeNull();
    w.cancel(E, 2);
    expect(w.reserve(E, 1)).not.toBeNull();
    expect(w.reserve(F, 32)).not.toBeNull();
    // Two reserved: no room left in the worker, whatever the lane.
    expect(w.reserve(G, 32)).toBeNull();
  });

  it('gives back what is adopted after it stopped, as leases released', async () => {
    const { worker: w, state } = await started();
    expect(w.reserve(E, 32)).not.toBeNull();
    await w.stop(100);
    const delivery: ClaimedDelivery = {
      id: 'dlv_1' as DeliveryId,
      eventId: 'evt_1' as EventId,
      endpointId: E,
      accountId: 'acc_1' as AccountId,
      payload: '{}',
      attempts: 0,
      cycleAttempts: 0,
      endpointVersion: 1,
      manual: false,
      traceParent: null,
    };
    w.adopt([delivery]);
    await vi.waitFor(() => expect(state.released).toEqual([{ owner: 'w1', ids: [delivery.id] }]));
  });
});
