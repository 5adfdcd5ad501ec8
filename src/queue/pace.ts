// How fast each endpoint gets through its work, as this worker has seen it: a running average of
// its response times, from which the worker judges how much of the endpoint's work it may keep in
// memory from handovers (worker.ts, reserve).

import type { EndpointOptions } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';

/** Weight of each new response time in an endpoint's running average. */
const RESPONSE_WEIGHT = 0.1;

export class EndpointPace {
  private readonly responseMs = new Map<EndpointId, number>();

  /** The endpoint answered an attempt in `durationMs`. */
  record(endpointId: EndpointId, durationMs: number): void {
    const seen = this.responseMs.get(endpointId);
    this.responseMs.set(
      endpointId,
      seen === undefined ? durationMs : seen + (durationMs - seen) * RESPONSE_WEIGHT,
    );
  }

  /**
   * How many deliveries the endpoint is sent in `horizonMs` at its pace: as many at once as its
   * concurrency (within the worker's) allows, each taking its average response time, or its rate
   * limit if lower. None before it has answered. `waitingMs`: how long it has had work out
   * without an answer; when longer than its average, that is its pace now.
   */
  depth(
    endpointId: EndpointId,
    options: Pick<EndpointOptions, 'maxConcurrency' | 'rateLimit'>,
    workerConcurrency: number,
    horizonMs: number,
    waitingMs: number,
  ): number {
    const average = this.responseMs.get(endpointId);
    if (average === undefined) return 0;
    const responseMs = Math.max(1, average, waitingMs);
    let perMs = Math.min(options.maxConcurrency, workerConcurrency) / responseMs;
    if (options.rateLimit !== null) perMs = Math.min(perMs, options.rateLimit / 1000);
    return perMs * horizonMs;
  }

  forget(endpointId: EndpointId): void {
    this.responseMs.delete(endpointId);
  }

  endpoints(): Iterable<EndpointId> {
    return this.responseMs.keys();
  }
}
