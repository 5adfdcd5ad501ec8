// Delivery activity, counted by recordResults (store/activity.ts), read by the console.

import type { AccountId, EndpointId } from '../../domain/ids.js';
import type { QueueStats } from './queue.js';

/** What an attempt's result counts as in the activity figures (store/activity.ts). */
export type ActivityOutcome = 'succeeded' | 'retried' | 'failed';

/** Attempts that ended in one minute with one outcome. */
export interface MinuteCount {
  /** Start of the minute (ms). */
  readonly minute: number;
  readonly outcome: ActivityOutcome;
  readonly count: number;
}

/** Delivery activity since a time: per-minute outcomes and publish-to-delivered latency. */
export interface DeliveryActivity {
  readonly minutes: readonly MinuteCount[];
  /** Succeeded deliveries by latency bucket (domain/latency.ts). */
  readonly latency: ReadonlyArray<{ readonly bucket: number; readonly count: number }>;
}

/** One endpoint's activity since a time, for its health. */
export interface EndpointActivity {
  readonly endpointId: EndpointId;
  readonly succeeded: number;
  readonly retried: number;
  readonly failed: number;
  /** The latest error seen, and when. */
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

export interface ActivityStore {
  /** queueStats for one account's deliveries. */
  accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats>;
  /**
   * Attempts recorded since `since` (recordResults keeps counts of them for two days), for one
   * account or, with null, for all: per minute, and latency from the 10-minute slice of `since`.
   */
  deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity>;
  /**
   * Per endpoint of the account with activity since the hour `since` falls in: counts and the
   * latest error.
   */
  endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]>;
}
