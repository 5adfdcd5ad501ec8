// When delivery work runs: lease due deliveries in batches, spread them over per-endpoint lanes
// (each with its own concurrency and rate), renew leases while working, and on shutdown finish
// in-flight work and give the rest back.
//
// Lanes are what keep a slow or dead listener from delaying the others: an endpoint has at most
// its maxConcurrency in flight, and claims fill its lane to twice that (in flight and waiting);
// while its lane is full, claims skip it, so the worker's capacity goes to everyone else.
// Handovers may fill a lane further, up to what it sends in a quarter of a lease (handover.ts).

import type { Endpoint, EndpointOptions } from '../domain/endpoint.js';
import type { DeliveryId, EndpointId } from '../domain/ids.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { EndpointCache } from '../delivery/endpoint-cache.js';
import type { Logger } from '../observability/logger.js';
import type { WorkSignal } from './work-signal.js';
import type {
  CapableStore,
  ClaimedDelivery,
  DeliveryLease,
  DeliveryResult,
  QueueStore,
} from '../store/port.js';
import { heldBytes, type Handover, type HandoverTaker } from './handover.js';
import { Fifo } from './fifo.js';
import { EndpointPace } from './pace.js';
import { Tally } from './tally.js';
import { ResultWriter } from './result-writer.js';
import { sweepLeasesAndHolds } from './sweep.js';

export interface WorkerOptions {
  readonly store: QueueStore & CapableStore;
  readonly dispatcher: Dispatcher;
  readonly endpoints: EndpointCache;
  readonly signal: WorkSignal;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Unique name of this worker (lease owner). */
  readonly owner: string;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly claimBatch?: number;
  /** Told when written results raised operational events (delivery.exhausted). */
  readonly onRaised?: () => void;
  /** Where this process's ingest hands new deliveries to the worker (handover.ts). */
  readonly handover?: Handover;
  /**
   * Memory (heldBytes) for handed-over deliveries beyond what the worker sends at once
   * (HERALD_HANDOVER_MEMORY); 0 or absent: deliveries are handed over only while it has room to
   * send them soon, as claims are made (always so when other workers share the store).
   */
  readonly handoverBytes?: number;
}

interface Lane {
  readonly id: EndpointId;
  readonly queue: Fifo<ClaimedDelivery>;
  inflight: number;
  /** When the lane last finished a delivery, or began (for how long it has been waiting). */
  lastProgressAt: number;
  /** The endpoint version a change in this process wrote: the lane sends with it or newer. */
  changedTo: number;
  endpoint: Endpoint | undefined;
  loading: boolean;
  timer: NodeJS.Timeout | null;
}

const DEFAULT_LANE_MAX = 1;
/** How often a claim looks past the head of the due queue (bounds how long a slow lane delays others). */
const THOROUGH_CLAIM_INTERVAL_MS = 250;
/** A paced lane waiting for its next slot looks at its endpoint again at least this often. */
const PACE_RECHECK_MS = 1000;
/**
 * Results wait this long at most to be written with others (result-writer.ts): under load a
 * write takes a few hundred of them, not the few dozen that finish during one store call.
 */
const RESULT_GATHER_MS = 10;

export class Worker implements HandoverTaker {
  private readonly lanes = new Map<EndpointId, Lane>();
  private readonly leased = new Set<DeliveryId>();
  private readonly writer: ResultWriter;
  private buffered = 0;
  private inflight = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];
  private unsubscribe: (() => Promise<void>) | null = null;
  private recoverTimer: NodeJS.Timeout | null = null;
  private lastThoroughClaim = 0;
  private wantClaim = false;
  /** Lanes stopped by the process-wide concurrency limit, waiting for a free slot. */
  private readonly starved = new Set<Lane>();
  /** Earliest time each rate-limited endpoint may be sent its next request. */
  private readonly rateSlots = new Map<EndpointId, number>();
  /** Handover leases granted and not yet adopted or cancelled, per endpoint and in all. */
  private readonly reserved = new Tally<EndpointId>();
  /** heldBytes of what waits in lanes (not yet sent) and of what is reserved. */
  private queuedBytes = 0;
  private reservedBytes = 0;
  /** Each endpoint's response times, for how much of its work handovers may keep in memory. */
  private readonly pace = new EndpointPace();
  /**
   * The last claim skipped no lane and left nothing due in the store but what was still being
   * committed when it began (see `committing`), and no handover has been refused since: only
   * then may new deliveries be handed over, so they do not overtake work that waits in the store.
   */
  private caughtUp = false;
  /**
   * Pending deliveries on their way to the store for a claim, by due time. Commits are made in
   * publish order, so whatever was committed before a claim began is due no later than the
   * oldest of these: what a claim leaves due from that time on is theirs (the next claim, which
   * their commit wakes, takes them), not a backlog. Without this, a worker under a steady stream
   * of publishes never caught up again once behind: some are always committing while it claims.
   */
  private readonly inCommit = new Tally<number>();

  constructor(private readonly o: WorkerOptions) {
    // After results are written, claim again only when it needs them written: an ordered
    // endpoint finished a delivery (the package's next may be claimable), or a retry was scheduled.
    this.writer = new ResultWriter(
      o.store,
      o.logger,
      (results) => {
        // Leases are renewed until the result is stored, not only until it is queued.
        let raised = false;
        for (const r of results) {
          this.leased.delete(r.deliveryId);
          if (r.raised !== null) raised = true;
        }
        if (raised) o.onRaised?.();
        if (!this.wantClaim) return;
        this.wantClaim = false;
        o.signal.notify();
      },
      // A result given up: stop renewing its lease, so it runs out and the delivery comes back.
      (result) => this.leased.delete(result.deliveryId),
      { gatherMs: RESULT_GATHER_MS },
    );
  }

  get stats(): { inflight: number; buffered: number; lanes: number; unwritten: number } {
    return {
      inflight: this.inflight,
      buffered: this.buffered,
      lanes: this.lanes.size,
      unwritten: this.writer.backlog,
    };
  }

  /** The endpoints this worker keeps something for: a lane, a rate slot. */
  *endpointsHeld(): Iterable<EndpointId> {
    yield* new Set([...this.lanes.keys(), ...this.rateSlots.keys(), ...this.pace.endpoints()]);
  }

  /**
   * The endpoint was deleted (its deliveries with it): drop its rate slot, and its lane with
   * what waits in it. Deliveries in flight finish; their results find nothing to update.
   */
  forget(id: EndpointId): void {
    this.rateSlots.delete(id);
    this.pace.forget(id);
    const lane = this.lanes.get(id);
    if (!lane) return;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    this.dropQueued(lane);
    this.starved.delete(lane);
    // A lane that stays (deliveries in flight) must not send anything adopted or claimed later
    // with the deleted endpoint: without it, the next delivery loads the endpoint again.
    lane.endpoint = undefined;
    if (lane.inflight === 0 && !lane.loading) this.lanes.delete(id);
  }

  /**
   * The endpoint changed in this process (its URL, credentials, state) to `version`: what waits
   * in its lane is sent with that version, not with the lane's copy. A lane filled by handovers
   * may hold many seconds of work, and a claim would not bring the new version to it before then.
   */
  endpointChanged(id: EndpointId, version: number): void {
    const lane = this.lanes.get(id);
    if (!lane) return;
    lane.changedTo = Math.max(lane.changedTo, version);
    // A load under way is looked at again when it ends (refresh).
    if (lane.endpoint && lane.endpoint.version < version) void this.refresh(lane, version);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.renewTimer = setInterval(
      () => void this.renewLeases(),
      Math.max(1000, this.o.leaseMs / 3),
    );
    this.renewTimer.unref();
    if (this.o.store.capabilities.crossProcessWakeups) {
      // Other processes publish and release work: their notifications wake this worker.
      this.unsubscribe = await this.o.store.subscribeWork(() => this.o.signal.notify());
    }
    // A worker that died holding leases (another process, or a result this process could not
    // store): the work moves on once the leases expire. Live leases are renewed. Holds that a
    // late result wrote after its endpoint was re-enabled are released on the same beat.
    this.recoverTimer = setInterval(
      () => void sweepLeasesAndHolds(this.o.store, this.o.logger, this.o.signal, this.o.clock),
      Math.max(1000, this.o.leaseMs / 2),
    );
    this.recoverTimer.unref();
    this.o.handover?.attach(this);
    this.loop = this.claimLoop();
  }

  reserve(
    endpointId: EndpointId,
    options: Pick<EndpointOptions, 'maxConcurrency' | 'rateLimit'>,
    payloadLength: number,
  ): DeliveryLease | null {
    if (this.running && this.caughtUp) {
      const lane = this.lanes.get(endpointId);
      const current = lane?.endpoint?.options ?? options;
      const held = (lane ? lane.queue.length + lane.inflight : 0) + this.reserved.get(endpointId);
      const bytes = heldBytes(payloadLength);
      const room =
        // Room to send it soon, as a claim would take it.
        (this.capacity() > 0 && held < current.maxConcurrency * 2) ||
        // Room to keep it: memory left, and the lane can send it within the horizon.
        (this.queuedBytes + this.reservedBytes + bytes <= (this.o.handoverBytes ?? 0) &&
          held < this.horizonDepth(endpointId, current, lane));
      if (room) {
        this.reserved.add(endpointId);
        this.reservedBytes += bytes;
        return { owner: this.o.owner, until: this.o.clock() + this.o.leaseMs };
      }
    }
    // Refused: the delivery is queued in the store, so the store has due work again.
    this.caughtUp = false;
    return null;
  }

  /**
   * How many deliveries of the endpoint handovers may keep: what its lane sends in a quarter of
   * a lease at its pace (pace.ts), so what is kept is sent well within its lease.
   */
  private horizonDepth(
    endpointId: EndpointId,
    options: Pick<EndpointOptions, 'maxConcurrency' | 'rateLimit'>,
    lane: Lane | undefined,
  ): number {
    const now = this.o.clock();
    const waitingMs = lane && lane.inflight > 0 ? now - lane.lastProgressAt : 0;
    // The worker's concurrency is shared by the endpoints it is sending to.
    const share = this.o.concurrency / (this.lanes.size + (lane ? 0 : 1));
    return this.pace.depth(endpointId, options, share, this.o.leaseMs / 4, waitingMs, now);
  }

  committing(due: number, count: number): void {
    this.inCommit.add(due, count);
  }

  committed(due: number, count: number): void {
    this.inCommit.remove(due, count);
  }

  /** The due time of the oldest pending delivery still being committed; Infinity when none. */
  private oldestInCommit(): number {
    let oldest = Infinity;
    for (const due of this.inCommit.keys()) if (due < oldest) oldest = due;
    return oldest;
  }

  cancel(delivery: ClaimedDelivery): void {
    this.reserved.remove(delivery.endpointId);
    this.reservedBytes -= heldBytes(delivery.payload.length);
  }

  adopt(deliveries: readonly ClaimedDelivery[]): void {
    for (const d of deliveries) this.cancel(d);
    if (this.running) {
      this.accept(deliveries);
      return;
    }
    // Stopped meanwhile: give them back as a claim made at shutdown does.
    void this.o.store
      .releaseLeases(
        this.o.owner,
        deliveries.map((d) => d.id),
        this.o.clock(),
      )
      .catch((error: unknown) =>
        this.o.logger.error({ err: error }, 'could not give back handed-over deliveries'),
      );
  }

  private capacity(): number {
    return this.o.concurrency * 2 - (this.buffered + this.inflight + this.reserved.total);
  }

  /**
   * Room for claims, and the lanes they skip (full: twice their maxConcurrency). A lane counts up
   * to what claims fill it to; what handovers keep in it beyond that is its own, and must not
   * stop claims for other endpoints.
   */
  private claimable(): { room: number; full: EndpointId[] } {
    let kept = 0;
    const full: EndpointId[] = [];
    for (const lane of this.lanes.values()) {
      const max = (lane.endpoint?.options.maxConcurrency ?? DEFAULT_LANE_MAX) * 2;
      const held = lane.queue.length + lane.inflight + this.reserved.get(lane.id);
      if (held >= max) full.push(lane.id);
      kept += Math.max(0, held - max);
    }
    return { room: this.capacity() + kept, full };
  }

  private async claimLoop(): Promise<void> {
    const batch = this.o.claimBatch ?? 256;
    while (this.running) {
      try {
        const { room, full: skipEndpoints } = this.claimable();
        if (room <= 0) {
          await this.o.signal.wait(this.o.pollIntervalMs);
          continue;
        }
        const limit = Math.min(room, batch);
        const now = this.o.clock();
        // Now and then look past the head of the queue, for work stuck behind full lanes or
        // behind a package waiting for its earlier event.
        const thorough = now - this.lastThoroughClaim >= THOROUGH_CLAIM_INTERVAL_MS;
        if (thorough) this.lastThoroughClaim = now;
        const unseen = this.oldestInCommit();
        const claimed = await this.o.store.claimDeliveries({
          now,
          limit,
          owner: this.o.owner,
          leaseUntil: now + this.o.leaseMs,
          skipEndpoints,
          thorough,
        });
        if (!this.running) {
          await this.o.store.releaseLeases(
            this.o.owner,
            claimed.map((c) => c.id),
            this.o.clock(),
          );
          break;
        }
        this.accept(claimed);
        if (claimed.length === limit) {
          this.caughtUp = false;
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const next = await this.o.store.nextDueAt();
        const later = this.o.clock();
        // Everything due was taken: nothing due from before the claim left behind but what was
        // still being committed when it began (a claim that looks at the head of the queue only
        // can leave due work past deliveries held back by package order). With lanes skipped
        // (full), what is being committed may be theirs, which the next claim skips too: then
        // only nothing due at all, and nothing being committed, is caught up.
        this.caughtUp =
          skipEndpoints.length === 0
            ? next === null || next >= Math.min(now, unseen)
            : (next === null || next > now) && unseen === Infinity;
        // Due work that could not be claimed is blocked (full lanes, package ordering): a
        // finished delivery wakes us. Otherwise sleep until the next retry is due.
        let wait =
          next === null || next <= later
            ? this.o.pollIntervalMs
            : Math.min(next - later, this.o.pollIntervalMs);
        if (next !== null && next <= later && !thorough) {
          // Due work the head did not yield: the next thorough claim may find it.
          wait = Math.min(wait, THOROUGH_CLAIM_INTERVAL_MS - (later - this.lastThoroughClaim));
        }
        await this.o.signal.wait(Math.max(1, wait));
      } catch (error) {
        this.o.logger.error({ err: error }, 'claiming deliveries failed; retrying');
        await new Promise((r) => setTimeout(r, this.o.pollIntervalMs));
      }
    }
  }

  private accept(claimed: readonly ClaimedDelivery[]): void {
    // The newest endpoint version among what each lane was given now.
    const touched = new Map<Lane, number>();
    for (const c of claimed) {
      let lane = this.lanes.get(c.endpointId);
      if (!lane) {
        lane = {
          id: c.endpointId,
          queue: new Fifo(),
          inflight: 0,
          lastProgressAt: this.o.clock(),
          changedTo: 0,
          endpoint: undefined,
          loading: false,
          timer: null,
        };
        this.lanes.set(c.endpointId, lane);
      }
      lane.queue.push(c);
      this.leased.add(c.id);
      this.buffered++;
      this.queuedBytes += heldBytes(c.payload.length);
      touched.set(lane, Math.max(touched.get(lane) ?? 0, c.endpointVersion));
    }
    for (const [lane, newest] of touched) {
      if (!lane.endpoint || lane.endpoint.version < newest) void this.refresh(lane, newest);
      else this.pump(lane);
    }
  }

  /** Loads the lane's endpoint (new lane, or a claim saw a newer version), then pumps. */
  private async refresh(lane: Lane, version: number): Promise<void> {
    if (lane.loading) return;
    lane.loading = true;
    try {
      const endpoint = await this.o.endpoints.get(lane.id, version);
      lane.endpoint = endpoint;
      if (!endpoint) {
        // Deleted with its deliveries: nothing left to do for what we hold.
        this.dropQueued(lane);
        this.lanes.delete(lane.id);
        return;
      }
    } catch (error) {
      this.o.logger.error({ err: error, endpointId: lane.id }, 'could not load endpoint');
      setTimeout(() => void this.refresh(lane, version), 1000).unref();
      return;
    } finally {
      lane.loading = false;
    }
    let newest = lane.changedTo;
    for (const c of lane.queue) newest = Math.max(newest, c.endpointVersion);
    if (lane.endpoint && lane.endpoint.version < newest) void this.refresh(lane, newest);
    else this.pump(lane);
  }

  private pump(lane: Lane): void {
    const endpoint = lane.endpoint;
    // Nothing new starts once stopping (what waits is given back), nor with a copy of the
    // endpoint older than a change made here (its reload failed: it is tried again).
    if (!endpoint || lane.loading || !this.running || endpoint.version < lane.changedTo) return;
    const max = endpoint.options.maxConcurrency;
    const rate = endpoint.options.rateLimit;
    while (lane.queue.length > 0 && lane.inflight < max) {
      if (this.inflight >= this.o.concurrency) {
        // The process-wide limit: resume when any delivery finishes.
        this.starved.add(lane);
        return;
      }
      if (rate !== null) {
        // Kept per endpoint, not per lane: a lane that empties and comes back is still paced.
        const now = this.o.clock();
        const interval = 1000 / rate;
        // Never more than one interval ahead at the current rate: a rate raised while the lane
        // waits applies at once.
        let slot = this.rateSlots.get(lane.id) ?? 0;
        if (slot > now + interval) this.rateSlots.set(lane.id, (slot = now + interval));
        if (slot > now) {
          if (!lane.timer) {
            const wait = slot - now;
            lane.timer =
              wait <= PACE_RECHECK_MS
                ? setTimeout(() => {
                    lane.timer = null;
                    this.pump(lane);
                  }, wait)
                : // A long wait: the endpoint may change meanwhile (its rate, its state, deleted),
                  // so it is read again now and then, and the lane pumped with what it says.
                  setTimeout(() => {
                    lane.timer = null;
                    // From the store: another process (an API role) may have changed it.
                    this.o.endpoints.invalidate(lane.id);
                    void this.refresh(lane, endpoint.version);
                  }, PACE_RECHECK_MS);
          }
          return;
        }
        this.rateSlots.set(lane.id, Math.max(slot, now) + interval);
      }
      const c = lane.queue.shift()!;
      this.buffered--;
      this.queuedBytes -= heldBytes(c.payload.length);
      // Waiting for an answer from now on, not since the lane last finished one.
      if (lane.inflight === 0) lane.lastProgressAt = this.o.clock();
      lane.inflight++;
      this.inflight++;
      this.run(lane, endpoint, c);
    }
  }

  /**
   * Takes what waits in the lane out of it (its endpoint is gone, or the worker stops): no longer
   * leased, sent or counted. Returns what it took.
   */
  private dropQueued(lane: Lane): ClaimedDelivery[] {
    const dropped = lane.queue.drain();
    for (const c of dropped) {
      this.leased.delete(c.id);
      this.buffered--;
      this.queuedBytes -= heldBytes(c.payload.length);
    }
    return dropped;
  }

  private run(lane: Lane, endpoint: Endpoint, c: ClaimedDelivery): void {
    // The dispatcher never rejects.
    void this.o.dispatcher
      .run(c, endpoint, this.o.owner)
      .then((result) => this.finish(lane, result));
  }

  private finish(lane: Lane, result: DeliveryResult): void {
    const options = lane.endpoint?.options;
    const ordered = options?.ordering === 'package';
    // The package's next delivery is claimable once this result is written: no gathering.
    this.writer.push(result, ordered);
    lane.inflight--;
    this.inflight--;
    lane.lastProgressAt = this.o.clock();
    if (result.attempt !== null) {
      this.pace.record(lane.id, result.attempt.durationMs, lane.lastProgressAt);
    }
    if (ordered || result.status === 'pending') this.wantClaim = true;
    // A lane running low claims at once, not after the result is written, unless the store has
    // nothing due (caught up: new deliveries come by handover, a retry's due time wakes the loop).
    if (
      !this.caughtUp &&
      lane.queue.length + lane.inflight <= (options?.maxConcurrency ?? DEFAULT_LANE_MAX)
    ) {
      this.o.signal.notify();
    }
    // Lanes that found no free slot go first: a lane with a long queue (handovers keep seconds
    // of work) must not take every slot that its own deliveries free.
    if (this.starved.size > 0) {
      for (const waiting of this.starved) {
        if (this.inflight >= this.o.concurrency) break;
        this.starved.delete(waiting);
        this.pump(waiting);
      }
    }
    if (lane.queue.length === 0 && lane.inflight === 0 && !lane.timer && !lane.loading) {
      this.lanes.delete(lane.id);
    } else {
      this.pump(lane);
    }
    if (this.inflight === 0 && this.idleWaiters.length > 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.leased.size === 0) return;
    try {
      await this.o.store.renewLeases(
        this.o.owner,
        [...this.leased],
        this.o.clock() + this.o.leaseMs,
      );
    } catch (error) {
      this.o.logger.error({ err: error }, 'could not renew delivery leases');
    }
  }

  /**
   * Stops claiming, gives back what has not started, lets in-flight deliveries finish for up to
   * `timeoutMs`, and writes their results. Returns how many were still in flight at the end.
   */
  async stop(timeoutMs: number): Promise<number> {
    if (!this.running) return 0;
    this.running = false;
    this.o.handover?.detach(this);
    this.o.signal.notify();
    await this.loop;
    if (this.recoverTimer) clearInterval(this.recoverTimer);
    await this.unsubscribe?.();
    const unstarted: DeliveryId[] = [];
    for (const lane of this.lanes.values()) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = null;
      for (const c of this.dropQueued(lane)) unstarted.push(c.id);
    }
    if (unstarted.length > 0) {
      await this.o.store.releaseLeases(this.o.owner, unstarted, this.o.clock());
    }
    if (this.inflight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.writer.flush(Math.max(1000, timeoutMs));
    return this.inflight;
  }
}
