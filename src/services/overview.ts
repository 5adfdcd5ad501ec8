// What the console's Overview and endpoint health show: deliveries per minute by outcome over the
// last hour and day, publish-to-delivered percentiles, queue depth, and the endpoints that need a
// person (disabled, credentials dead, failing) first. Read from the store's delivery activity,
// which recordResults keeps per endpoint and minute, so a page costs the same at any volume.

import type { Endpoint } from '../domain/endpoint.js';
import type { AccountId, EndpointId } from '../domain/ids.js';
import { latencyPercentile } from '../domain/latency.js';
import type {
  ActivityOutcome,
  ActivityStore,
  DeliveryActivity,
  EndpointActivity,
  QueueStats,
  QueueStore,
} from '../store/port.js';

const MINUTE_MS = 60_000;
export const HOUR_MS = 3600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Per-minute counts over a window, one array per outcome, aligned with `minutes`. */
export interface ActivitySeries {
  /** Start of each minute (ms), oldest first. */
  readonly minutes: readonly number[];
  readonly counts: Readonly<Record<ActivityOutcome, readonly number[]>>;
  readonly totals: Readonly<Record<ActivityOutcome, number>>;
  /** Publish-to-delivered latency of succeeded deliveries (ms), or null with none. */
  readonly p50: number | null;
  readonly p99: number | null;
}

export type AttentionReason = 'disabled' | 'reauthorization_required' | 'failing';

export interface EndpointHealthView {
  readonly endpoint: Endpoint;
  readonly activity: EndpointActivity | null;
  /** Successes among the attempts of the last day, 0..1, or null without attempts. */
  readonly successRate: number | null;
  /** Why it needs a person, most urgent first; empty when it is healthy. */
  readonly attention: readonly AttentionReason[];
}

export interface Overview {
  readonly hour: ActivitySeries;
  readonly day: ActivitySeries;
  readonly queue: QueueStats;
}

const OUTCOMES: readonly ActivityOutcome[] = ['succeeded', 'retried', 'failed'];

/** Spreads stored minute counts over every minute of [since, until), zeros included. */
export function seriesOf(activity: DeliveryActivity, since: number, until: number): ActivitySeries {
  const first = Math.floor(since / MINUTE_MS) * MINUTE_MS;
  const minutes: number[] = [];
  for (let m = first; m < until; m += MINUTE_MS) minutes.push(m);
  const counts = Object.fromEntries(
    OUTCOMES.map((o) => [o, new Array<number>(minutes.length).fill(0)]),
  ) as Record<ActivityOutcome, number[]>;
  const totals = { succeeded: 0, retried: 0, failed: 0 };
  for (const row of activity.minutes) {
    const index = (row.minute - first) / MINUTE_MS;
    if (index < 0 || index >= minutes.length) continue;
    counts[row.outcome][index]! += row.count;
    totals[row.outcome] += row.count;
  }
  return {
    minutes,
    counts,
    totals,
    p50: latencyPercentile(activity.latency, 0.5),
    p99: latencyPercentile(activity.latency, 0.99),
  };
}

/** Why an endpoint needs a person, most urgent first. */
export function attentionOf(
  endpoint: Pick<Endpoint, 'state' | 'authStatus' | 'failingSince'>,
  activity: EndpointActivity | null,
): AttentionReason[] {
  const reasons: AttentionReason[] = [];
  if (endpoint.authStatus === 'reauthorization_required') reasons.push('reauthorization_required');
  if (endpoint.state === 'disabled') reasons.push('disabled');
  const failing =
    endpoint.failingSince !== null ||
    (activity !== null && activity.failed + activity.retried > 0 && activity.succeeded === 0);
  if (failing && endpoint.state !== 'disabled') reasons.push('failing');
  return reasons;
}

export class OverviewService {
  constructor(
    private readonly store: QueueStore & ActivityStore,
    private readonly clock: () => number,
  ) {}

  /** One account's overview, or with null every account's (the operator's). */
  async overview(accountId: AccountId | null): Promise<Overview> {
    const now = this.clock();
    const [hour, day, queue] = await Promise.all([
      this.store.deliveryActivity(accountId, now - HOUR_MS),
      this.store.deliveryActivity(accountId, now - DAY_MS),
      accountId === null
        ? this.store.queueStats(now)
        : this.store.accountQueueStats(accountId, now),
    ]);
    return {
      hour: seriesOf(hour, now - HOUR_MS, now),
      day: seriesOf(day, now - DAY_MS, now),
      queue,
    };
  }

  /** Each endpoint with its last day's activity; those needing a person first. */
  async health(
    accountId: AccountId,
    endpoints: readonly Endpoint[],
  ): Promise<EndpointHealthView[]> {
    const activity = await this.store.endpointActivity(accountId, this.clock() - DAY_MS);
    const byId = new Map<EndpointId, EndpointActivity>(activity.map((a) => [a.endpointId, a]));
    const views = endpoints.map((endpoint): EndpointHealthView => {
      const a = byId.get(endpoint.id) ?? null;
      const attempts = a ? a.succeeded + a.retried + a.failed : 0;
      return {
        endpoint,
        activity: a,
        successRate: a && attempts > 0 ? a.succeeded / attempts : null,
        attention: attentionOf(endpoint, a),
      };
    });
    const urgency = (v: EndpointHealthView) =>
      v.attention.length === 0
        ? 9
        : ['reauthorization_required', 'disabled', 'failing'].indexOf(v.attention[0]!);
    return views.sort((x, y) => urgency(x) - urgency(y));
  }
}
