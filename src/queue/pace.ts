// How fast each endpoint gets through its work, as this worker has seen it: a running average of
// its response times, from which the worker judges how much of the endpoint's work it may keep in
// memory from handovers (worker.ts, reserve).

import type { EndpointOptions } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';

/** Weight of each new response time in an endpoint's running average. */
const RESPONSE_WEIGHT = 0.1;

interface Seen {
  /** Running average of its response times. */
  ms: number;
  /** When it last answered. */
  at: number;
}

export class EndpointPace {
  private readonly seen = new Map<EndpointId, Seen>();

  /** The endpoint answered an attempt in `durationMs`, at `at`. */
  record(endpointId: EndpointId, durationMs: number, at: number): void {
    const seen = this.seen.get(endpointId);
    if (seen === undefined) this.seen.set(endpointId, { ms: durationMs, at });
    else {
      seen.ms += (durationMs - seen.ms) * RESPONSE_WEIGHT;
      seen.at = at;
    }
  }

  /**
   * How many deliveries the endpoint is sent in `horizonMs` at its pace: as many at once as its
   * concurrency (within its share of the worker's) allows, each taking its average response
   * time, or its rate limit if lower. None before it has answered, nor when it last answered
   * longer ago than the horizon (it may have stopped since). `waitingMs`: how long it has had
   * work out without an answer; when longer than its average, that is its pace now.
   */
  depth(
    endpointId: EndpointId,
    options: Pick<EndpointOptions, 'maxConcurrency' | 'rateLimit'>,
    concurrencyShare: number,
    horizonMs: number,
    waitingMs: number,
    now: number,
  ): number {
    const seen = this.seen.get(endpointId);
    if (seen === undefined || now - seen.at > horizonMs) return 0;
    const responseMs = Math.max(1, seen.ms, waitingMs);
    let perMs = Math.min(options.maxConcurrency, concurrencyShare) / responseMs;
    if (options.rateLimit !== null) perMs = Math.min(perMs, options.rateLimit / 1000);
    return perMs * horizonMs;
  }

  forget(endpointId: EndpointId): void {
    this.seen.delete(endpointId);
  }

  endpoints(): Iterable<EndpointId> {
    return this.seen.keys();
  }
}
