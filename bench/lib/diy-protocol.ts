// The DIY relay child's options, methods and figures (shared by both sides).

export type DiyRole = 'all' | 'ingest' | 'worker';

export interface DiyOptions {
  /** `ingest` serves POST /v1/events, `worker` delivers, `all` does both in one process. */
  readonly role: DiyRole;
  readonly redis: { readonly host: string; readonly port: number };
  /** BullMQ key prefix and queue name: every key the relay writes starts with `prefix:queue:`. */
  readonly prefix: string;
  readonly queue: string;
  /** The listener URL deliveries are POSTed to. */
  readonly target: string;
  readonly apiKey: string;
  /** Jobs the BullMQ Worker runs at once (and connections of its undici Pool). */
  readonly concurrency: number;
  /** Keeps the webhook-ids of different relay processes and runs apart. */
  readonly idTag: string;
}

export interface DiyReady {
  /** Where publishes go (null for a worker-only process). */
  readonly url: string | null;
}

export interface DiyCounts {
  /** Events accepted (added to the queue) by this process. */
  readonly accepted: number;
  /** Deliveries the listener answered 2xx. */
  readonly delivered: number;
  /** Sends that failed (network error or non-2xx) and were left to BullMQ's retries. */
  readonly failedSends: number;
}

export type DiyApi = {
  counts(): DiyCounts;
  /** Closes the Worker (waiting for its jobs), the Queue and the HTTP server. */
  stop(): Promise<void>;
};
