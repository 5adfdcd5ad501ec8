// The load generator's methods and results (shared by both sides).

export interface ClosedLoopSpec {
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Keep-alive connections of the undici Pool (pipelining 1). */
  readonly connections: number;
  /** Requests kept in flight: each finished request starts the next one at once. */
  readonly inflight: number;
  /** Traffic before the measured window (connections, JIT, caches), not counted. */
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly expectStatus: number;
}

export interface ClosedLoopResult {
  /** Requests answered with `expectStatus` that finished inside the measured window. */
  readonly completed: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  readonly measuredMs: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly firstError: string | null;
}

export interface OpenLoopSpec {
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Each body is `${bodyPrefix}${sentAt}}`: the send time travels in the event. */
  readonly bodyPrefix: string;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly connections: number;
  readonly expectStatus: number;
}

export interface OpenLoopResult {
  readonly sent: number;
  readonly completed: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  readonly startedAt: number;
  readonly firstError: string | null;
  /** Publish request → response (the 202), for reference. */
  readonly responseP50Ms: number;
  readonly responseP99Ms: number;
  /** Most the generator fell behind its schedule (its own CPU starvation, not Herald's). */
  readonly maxLagMs: number;
}

export interface PublishSpec {
  readonly origin: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** Event numbers `first` .. `first + total - 1`, so packageIds differ between phases. */
  readonly first: number;
  readonly total: number;
  /** Events per request: 1 publishes single JSON objects, more publishes JSON arrays. */
  readonly batchSize: number;
  /** Concurrent publishers: each sends its next request when the last one is answered. */
  readonly publishers: number;
  readonly expectStatus: number;
}

export interface PublishResult {
  /** Events in requests answered with `expectStatus`. */
  readonly accepted: number;
  /** Requests answered otherwise, or that failed. */
  readonly failed: number;
  readonly statuses: Record<string, number>;
  readonly firstError: string | null;
  /** When the first request was sent and the last answer arrived (this process's clock). */
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Publish request → answer. */
  readonly responseP50Ms: number;
  readonly responseP99Ms: number;
}

export type LoadApi = {
  closedLoop(spec: ClosedLoopSpec): Promise<ClosedLoopResult>;
  openLoop(spec: OpenLoopSpec): Promise<OpenLoopResult>;
  /** Publishes a fixed number of events, each stamped with its request's send time. */
  publish(spec: PublishSpec): Promise<PublishResult>;
};
