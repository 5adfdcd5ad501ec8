// One sustained run: producers publish while the system under test delivers, as users see it.
// A publisher process sends the events (stamped with each request's send time) to a fresh
// instance of the system, which delivers them to the listener process; the run is timed from the
// first publish to the last delivery, and every event's trip (send → arrival) is kept. The same
// code measures Herald (SQLite or PostgreSQL) and the DIY relay, so they differ only in what
// `Contestant.start` starts.

import type { Child } from './child.js';
import { Scope } from './cleanup.js';
import type { Listener } from './listener.js';
import type { ListenerStats } from './listener-protocol.js';
import type { LoadApi } from './load-protocol.js';
import { eventInput } from './payload.js';
import { cpuMsOf } from './proc-cpu.js';
import { metric, type Metric, type PairedBaseline, type Target } from './result.js';
import { startLoadGenerator } from './load.js';
import { startPairedRaw, type PairedRaw } from './raw-load.js';
import { deliveryTimeoutMs, type BenchOptions } from './scenario.js';
import { percentileOfSorted } from './stats.js';

/** Batches of 1,000 by 4 publishers; single events by many; single events at a fixed rate. */
export type Variant = 'batches' | 'single' | 'rate';

export const BATCH_SIZE = 1000;
export const BATCH_PUBLISHERS = 4;
/** As many as ingest's single-event run: enough publishes in flight for group commits to form. */
export const SINGLE_PUBLISHERS = 128;
/** Connections of the fixed-rate publisher (as the latency scenario's). */
const RATE_CONNECTIONS = 64;
/** Events through the same path before each timed run: JIT, connections, caches. */
export const WARMUP_EVENTS = 2000;

/** Where a started system takes publishes, and the processes whose CPU time it costs. */
export interface Relay {
  readonly url: string;
  readonly apiKey: string;
  readonly pids: readonly number[];
}

/** A system under test: starts a fresh instance that delivers to `target`, closed with `scope`. */
export interface Contestant {
  readonly name: string;
  start(scope: Scope, target: string): Promise<Relay>;
}

/** The processes every run shares: the listener and the publisher. */
export interface Rig {
  readonly listener: Listener;
  readonly load: Child<LoadApi>;
}

export interface RunSpec {
  readonly events: number;
  /** Events/s of the `rate` variant. */
  readonly rate: number;
  /** The `rate` variant leaves out events sent in its first `warmupMs`, as latency does. */
  readonly warmupMs: number;
}

export interface VariantRun {
  /** Events / (last delivery − first publish); NaN for `rate`, whose pace is the publisher's. */
  readonly deliveriesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of `Relay.pids` in the timed part / events delivered, µs; NaN if unreadable. */
  readonly cpuUsPerDelivery: number;
  readonly details: Record<string, number>;
}

export const VARIANT_LABEL: Record<Variant, string> = {
  batches: `batches of ${BATCH_SIZE.toLocaleString('en-US')}`,
  single: 'single-event publishes',
  rate: 'single events at a fixed rate',
};

/** CPU µs per delivery between two readings of `cpuMsOf`; NaN when either is missing. */
function cpuUsPerDelivery(before: number | null, after: number | null, delivered: number): number {
  return before === null || after === null ? NaN : ((after - before) * 1000) / delivered;
}

function publishHeaders(relay: Relay): Record<string, string> {
  return { authorization: `Bearer ${relay.apiKey}`, 'content-type': 'application/json' };
}

async function publishClosedLoop(
  rig: Rig,
  relay: Relay,
  variant: 'batches' | 'single',
  first: number,
  total: number,
) {
  const batches = variant === 'batches';
  const published = await rig.load.call('publish', {
    origin: relay.url,
    path: '/v1/events',
    headers: publishHeaders(relay),
    first,
    total,
    batchSize: batches ? BATCH_SIZE : 1,
    publishers: batches ? BATCH_PUBLISHERS : SINGLE_PUBLISHERS,
    expectStatus: 202,
  });
  if (published.failed > 0) {
    throw new Error(`${published.failed} publishes failed, first: ${published.firstError}`);
  }
  return published;
}

/**
 * Each event's trip, arrival − send, with both times moved to the runner's clock (a child's
 * time minus its offset), for the events sent at or after `from` (runner clock); sorted.
 */
export function tripTimes(
  stats: Pick<ListenerStats, 'sentAt' | 'arrivedAt'>,
  offsets: { readonly sender: number; readonly listener: number },
  from = -Infinity,
): Float64Array {
  const out: number[] = [];
  stats.sentAt.forEach((sentAt, i) => {
    const sent = sentAt - offsets.sender;
    if (sent >= from) out.push(stats.arrivedAt[i]! - offsets.listener - sent);
  });
  return Float64Array.from(out).sort();
}

function trips(rig: Rig, stats: ListenerStats, from?: number): Float64Array {
  return tripTimes(
    stats,
    { sender: rig.load.offsetMs, listener: rig.listener.child.offsetMs },
    from,
  );
}

/**
 * What every run of a scenario shares: the listener, with raw runs paired to it, the publisher
 * process, and the run's sizes from the options.
 */
export async function startRig(
  scope: Scope,
  options: BenchOptions,
): Promise<{ paired: PairedRaw; rig: Rig; spec: RunSpec }> {
  const paired = await startPairedRaw(scope, options);
  const load = scope.add('publisher', await startLoadGenerator());
  return {
    paired,
    rig: { listener: paired.listener, load },
    spec: { events: options.events, rate: options.latencyRate, warmupMs: options.warmupMs },
  };
}

/** Open loop at `spec.rate`: the trips of the events sent after the first `spec.warmupMs`. */
async function measureAtRate(rig: Rig, relay: Relay, spec: RunSpec): Promise<VariantRun> {
  const { listener, load } = rig;
  const input = JSON.stringify(eventInput(WARMUP_EVENTS, { benchSentAt: 0 }));
  const cpuBefore = cpuMsOf(relay.pids);
  const published = await load.call('openLoop', {
    origin: relay.url,
    path: '/v1/events',
    headers: publishHeaders(relay),
    bodyPrefix: input.slice(0, input.lastIndexOf('0}')),
    ratePerSecond: spec.rate,
    durationMs: (spec.events / spec.rate) * 1000,
    connections: RATE_CONNECTIONS,
    expectStatus: 202,
  });
  if (published.failed > 0) {
    throw new Error(`${published.failed} publishes failed, first: ${published.firstError}`);
  }
  const stats = await listener.child.call('waitDone', deliveryTimeoutMs(spec.events));
  // Over every event of the timed part: the warm-up window is left out of the trips only.
  const cpuUs = cpuUsPerDelivery(cpuBefore, cpuMsOf(relay.pids), stats.unique);
  const sorted = trips(rig, stats, load.toRunnerClock(published.startedAt) + spec.warmupMs);
  return {
    deliveriesPerSecond: NaN,
    p50Ms: percentileOfSorted(sorted, 50),
    p99Ms: percentileOfSorted(sorted, 99),
    cpuUsPerDelivery: cpuUs,
    details: {
      p95Ms: percentileOfSorted(sorted, 95),
      maxMs: sorted[sorted.length - 1] ?? NaN,
      measuredEvents: sorted.length,
      publishP50Ms: published.responseP50Ms,
      publishP99Ms: published.responseP99Ms,
      generatorMaxLagMs: published.maxLagMs,
      duplicates: stats.duplicates,
    },
  };
}

/** Closed loop: `spec.events` published as fast as answered, timed to the last delivery. */
async function measureClosedLoop(
  rig: Rig,
  relay: Relay,
  variant: 'batches' | 'single',
  spec: RunSpec,
): Promise<VariantRun> {
  const { listener, load } = rig;
  const cpuBefore = cpuMsOf(relay.pids);
  const published = await publishClosedLoop(rig, relay, variant, WARMUP_EVENTS, spec.events);
  const stats = await listener.child.call('waitDone', deliveryTimeoutMs(spec.events));
  const cpuUs = cpuUsPerDelivery(cpuBefore, cpuMsOf(relay.pids), stats.unique);
  const firstPublish = load.toRunnerClock(published.startedAt);
  const lastPublish = load.toRunnerClock(published.finishedAt);
  const lastDelivery = listener.child.toRunnerClock(stats.lastAt!);
  const sorted = trips(rig, stats);
  return {
    deliveriesPerSecond: stats.unique / ((lastDelivery - firstPublish) / 1000),
    p50Ms: percentileOfSorted(sorted, 50),
    p99Ms: percentileOfSorted(sorted, 99),
    cpuUsPerDelivery: cpuUs,
    details: {
      seconds: (lastDelivery - firstPublish) / 1000,
      publishSeconds: (lastPublish - firstPublish) / 1000,
      acceptedPerSecond: published.accepted / ((lastPublish - firstPublish) / 1000),
      lastDeliveryAfterLastPublishMs: lastDelivery - lastPublish,
      maxMs: sorted[sorted.length - 1] ?? NaN,
      publishP50Ms: published.responseP50Ms,
      publishP99Ms: published.responseP99Ms,
      duplicates: stats.duplicates,
      connectionsOpened: stats.connections,
    },
  };
}

/** One timed run of `variant` against a fresh instance of `contestant`, after a warm-up. */
export async function runVariant(
  rig: Rig,
  contestant: Contestant,
  variant: Variant,
  spec: RunSpec,
): Promise<VariantRun> {
  const scope = new Scope(`${contestant.name}, ${VARIANT_LABEL[variant]}`);
  try {
    const path = contestant.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    const relay = await contestant.start(scope, `${rig.listener.url}/${path}`);
    const { listener, load } = rig;
    const closedLoop = variant === 'rate' ? 'single' : variant;
    await listener.child.call('reset', { expect: WARMUP_EVENTS, key: 'id', latency: true });
    await publishClosedLoop(rig, relay, closedLoop, 0, WARMUP_EVENTS);
    await listener.child.call('waitDone', deliveryTimeoutMs(WARMUP_EVENTS));
    // Clocks are calibrated right before the timed part: offsets drift little, but cost nothing.
    await listener.child.calibrate();
    await load.calibrate();
    await listener.child.call('reset', { expect: spec.events, key: 'id', latency: true });
    return variant === 'rate'
      ? await measureAtRate(rig, relay, spec)
      : await measureClosedLoop(rig, relay, variant, spec);
  } finally {
    await scope.close();
  }
}

/** Every run's figures of one contestant, by variant. */
export type Runs = Record<Variant, VariantRun[]>;

export function emptyRuns(): Runs {
  return { batches: [], single: [], rate: [] };
}

/** The closed-loop variants' method, as the scenarios' `method` texts quote it. */
export function closedLoopMethod(events: number): string {
  return (
    `${WARMUP_EVENTS} warm-up events through the same path, then ${events} events in batches ` +
    `of ${BATCH_SIZE} by ${BATCH_PUBLISHERS} concurrent publishers, or ${events} single-event ` +
    `publishes by ${SINGLE_PUBLISHERS}, each publisher sending its next request when the last ` +
    `is answered (202), while the system delivers; deliveries/s = events / (last delivery at ` +
    `the listener - first publish sent). Every event carries its request's send time ` +
    `(benchSentAt); publish → delivered = arrival - send, both on the runner's clock.`
  );
}

/** The CPU-per-delivery figure's method; `whose`: the processes it counts. */
export function cpuMethod(whose: string): string {
  return (
    `CPU per delivery = the CPU time (user + system, every thread) of ${whose}, from ` +
    `/proc/<pid>/stat in clock ticks (10 ms), read right before the timed publishes and right ` +
    `after the last delivery, / the events delivered in the timed part; lower is better. A ` +
    `busy shared machine slows a run down much more than it raises this figure, so it is ` +
    `steadier than deliveries/s.`
  );
}

export function describeRun(name: string, variant: Variant, run: VariantRun): string {
  const rate = Number.isNaN(run.deliveriesPerSecond)
    ? ''
    : `${Math.round(run.deliveriesPerSecond)} deliveries/s, `;
  return (
    `${name}, ${VARIANT_LABEL[variant]}: ${rate}p50 ${run.p50Ms.toFixed(1)} ms, ` +
    `p99 ${run.p99Ms.toFixed(1)} ms, ${Math.round(run.cpuUsPerDelivery)} µs CPU per delivery`
  );
}

/** Per-run details, one array per field, for the JSON. */
export function detailsOf(runs: readonly VariantRun[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const run of runs) {
    for (const [k, v] of Object.entries(run.details)) (out[k] ??= []).push(v);
  }
  return out;
}

/** deliveries/s (ratio to `ratioTo`, paired run for run), p50 and p99 of a closed-loop variant. */
export function variantMetrics(
  prefix: string,
  variant: 'batches' | 'single',
  runs: readonly VariantRun[],
  ratioTo?: PairedBaseline,
  rateTarget?: Target,
): Metric[] {
  const label = VARIANT_LABEL[variant];
  const of = (pick: (r: VariantRun) => number) => runs.map(pick);
  return [
    metric(
      `${prefix}deliveries/s, ${label}`,
      'deliveries/s',
      of((r) => r.deliveriesPerSecond),
      {
        ...(ratioTo ? { paired: ratioTo } : {}),
        ...(rateTarget ? { target: rateTarget } : {}),
      },
    ),
    metric(
      `${prefix}p50 publish → delivered, ${label}`,
      'ms',
      of((r) => r.p50Ms),
    ),
    metric(
      `${prefix}p99 publish → delivered, ${label}`,
      'ms',
      of((r) => r.p99Ms),
    ),
  ];
}

/** CPU µs per delivery, one figure per run; `paired`: the median of per-run ratios to it. */
export function cpuMetric(
  name: string,
  runs: readonly VariantRun[],
  paired?: PairedBaseline,
): Metric {
  return metric(
    name,
    'µs',
    runs.map((r) => r.cpuUsPerDelivery),
    paired ? { paired } : {},
  );
}
