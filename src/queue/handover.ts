// New deliveries handed from the publish that made them straight to this process's worker,
// without the claim round trip: the ingest commit inserts them already leased to the worker, and
// once it has committed the worker takes them from memory (payload included) instead of reading
// them back from the store. Durability is the claim's: the rows are committed before the publish
// is answered, and a lease that nobody renews (kill -9) runs out and the delivery is sent again.
//
// The worker grants a lease only while the store holds no due work it has not claimed yet, so a
// fresh delivery never overtakes older ones waiting in the store, and only while it has room:
// either room to send it soon (its own and the endpoint lane's limits, as for a claim), or room
// to keep it in memory (HERALD_HANDOVER_MEMORY, and what the endpoint is sent in a quarter of a
// lease at its response times; embedded store only). Otherwise the delivery is queued in the
// store as before and the next claim takes it. The ingest also tells the worker which pending
// deliveries are on their way to the store (`committing`): a claim cannot see those yet, and
// what it leaves due that is no older than them is theirs, not a backlog.

import type { EndpointOptions } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';
import type { ClaimedDelivery, DeliveryLease } from '../store/port.js';

/** What the worker offers the ingest (implemented by Worker). */
export interface HandoverTaker {
  /**
   * A lease for one new delivery to `endpointId`, whose payload is `payloadLength` characters
   * long, or null: no room now, or the store has due work to claim first.
   */
  reserve(
    endpointId: EndpointId,
    options: Pick<EndpointOptions, 'maxConcurrency' | 'rateLimit'>,
    payloadLength: number,
  ): DeliveryLease | null;
  /** The deliveries leased by `reserve` were committed: deliver them. */
  adopt(deliveries: readonly ClaimedDelivery[]): void;
  /** The lease granted for this delivery went unused: the publish was not committed. */
  cancel(delivery: ClaimedDelivery): void;
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

/**
 * What a delivery waiting in a worker's memory is counted as against HERALD_HANDOVER_MEMORY: its
 * payload (deliveries of one event share it, so this counts high) and the rest of its record.
 */
export function heldBytes(payloadLength: number): number {
  return payloadLength + 400;
}
