// New deliveries handed from the publish that made them straight to this process's worker,
// without the claim round trip: the ingest commit inserts them already leased to the worker, and
// once it has committed the worker takes them from memory (payload included) instead of reading
// them back from the store. Durability is the claim's: the rows are committed before the publish
// is answered, and a lease that nobody renews (kill -9) runs out and the delivery is sent again.
//
// The worker grants a lease only when it has room for the delivery (its own and the endpoint
// lane's limits) and the store holds no due work it has not claimed yet, so a fresh delivery
// never overtakes older ones waiting in the store; otherwise the delivery is queued in the store
// as before and the next claim takes it. The ingest also tells the worker which pending
// deliveries are on their way to the store (`committing`): a claim cannot see those yet, and
// what it leaves due that is no older than them is theirs, not a backlog.

import type { EndpointId } from '../domain/ids.js';
import type { ClaimedDelivery, DeliveryLease } from '../store/port.js';

/** What the worker offers the ingest (implemented by Worker). */
export interface HandoverTaker {
  /**
   * A lease for one new delivery to `endpointId` (whose lane may hold `maxConcurrency` × 2), or
   * null: no room now, or the store has due work to claim first.
   */
  reserve(endpointId: EndpointId, maxConcurrency: number): DeliveryLease | null;
  /** The deliveries leased by `reserve` were committed: deliver them. */
  adopt(deliveries: readonly ClaimedDelivery[]): void;
  /** Leases granted to `endpointId` that went unused: the publish was not committed. */
  cancel(endpointId: EndpointId, count: number): void;
  /**
   * `count` pending deliveries due at `due` go to the store for a claim (refused a lease, or
   * of an endpoint that orders by package), in a commit still to come: a claim that runs
   * meanwhile cannot see them, and must not take them for a backlog it left behind.
   */
  committing(due: number, count: number): void;
  /** That commit ended (whatever its outcome). */
  committed(due: number, count: number): void;
}

/** Where the ingest finds this process's worker (none in an API-only process, or before start). */
export class Handover {
  private taker: HandoverTaker | null = null;

  attach(taker: HandoverTaker): void {
    this.taker = taker;
  }

  detach(taker: HandoverTaker): void {
    if (this.taker === taker) this.taker = null;
  }

  /** The worker to hand one publish's deliveries to: the same one from reserve to adopt. */
  current(): HandoverTaker | null {
    return this.taker;
  }
}
