// The listener child's methods and the figures it reports (shared by both sides).

export interface ListenerSession {
  /** Distinct deliveries that complete the session. */
  readonly expect: number;
  /**
   * What makes a delivery distinct: its `webhook-id` (retries of one event count once), or
   * path + `webhook-id` when one event goes to many endpoints on this listener (fan-out).
   */
  readonly key: 'id' | 'path+id';
  /** Parse each body for `benchSentAt` and keep (sent, arrived) pairs. */
  readonly latency: boolean;
}

export interface ListenerStats {
  readonly received: number;
  readonly unique: number;
  readonly duplicates: number;
  /** Arrival (request fully read) of the first and last distinct delivery, listener clock. */
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** TCP connections accepted during the session: shows whether the sender keeps them warm. */
  readonly connections: number;
  /** Header names of the session's first request, sorted. */
  readonly headerNames: readonly string[];
  readonly sentAt: readonly number[];
  readonly arrivedAt: readonly number[];
}

export type ListenerApi = {
  reset(session: ListenerSession): void;
  stats(): ListenerStats;
  /** Resolves when the session has its `expect` distinct deliveries; rejects after the timeout. */
  waitDone(timeoutMs: number): Promise<ListenerStats>;
  /** Whether the session got its `expect` distinct deliveries within the timeout. */
  completes(timeoutMs: number): Promise<boolean>;
};

export interface ListenerReady {
  readonly port: number;
}
