// sustained: Herald publishing and delivering at the same time, as users see it. `herald serve`
// runs as its own process on a fresh SQLite store per run; a publisher process sends the events
// while Herald delivers them to the listener process; each run is timed from the first publish
// to the last delivery. Three variants per run: batches of 1,000 by 4 publishers, single-event
// publishes by 128, and single events at a fixed rate (default 2,000/s) for the latency target
// "during a sustained run". Raw is measured again on the same listener right before each run.

import { sqliteSynchronous } from '../lib/herald.js';
import { HERALD_MAX_CONCURRENCY, heraldSqlite } from '../lib/herald-contestants.js';
import { metric } from '../lib/result.js';
import { deliveryTimeoutMs, type BenchOptions, type Scenario } from '../lib/scenario.js';
import {
  closedLoopMethod,
  cpuMethod,
  cpuMetric,
  describeRun,
  detailsOf,
  emptyRuns,
  runVariant,
  startRig,
  type Variant,
  VARIANT_LABEL,
  variantMetrics,
  WARMUP_EVENTS,
} from '../lib/sustained.js';

/** The rate the latency target is set at; `--latency-rate` measures another (without target). */
const TARGET_RATE = 2000;
const VARIANTS: readonly Variant[] = ['batches', 'single', 'rate'];

/** A bound per variant run: start, warm-up, publishing and a stall-only delivery limit. */
export function variantTimeoutMs(o: BenchOptions): number {
  return (
    60_000 +
    deliveryTimeoutMs(WARMUP_EVENTS) +
    deliveryTimeoutMs(o.events) +
    (o.events / 1000) * 1000
  );
}

export const sustained: Scenario = {
  name: 'sustained',
  title: 'Sustained: publish and deliver at once, herald serve on SQLite, one Basic endpoint',
  baseline: 'raw',
  timeoutMs: (o) =>
    o.runs * (VARIANTS.length * variantTimeoutMs(o) + o.warmupMs + o.durationMs + 30_000),

  async run(context) {
    const { options, scope, log } = context;
    const { paired, rig, spec } = await startRig(scope, options);
    const herald = heraldSqlite();
    const runs = emptyRuns();

    for (let run = 0; run < options.runs; run++) {
      const rawRate = await paired.measure(`S${run}R`);
      log(`run ${run + 1}: raw right before ${Math.round(rawRate)} requests/s`);
      for (const variant of VARIANTS) {
        const result = await runVariant(rig, herald, variant, spec);
        runs[variant].push(result);
        log(`run ${run + 1}: ${describeRun('Herald', variant, result)}`);
      }
    }

    const atTarget = options.latencyRate === TARGET_RATE;
    const rateLabel = `at ${options.latencyRate.toLocaleString('en-US')} events/s`;
    return {
      method:
        `\`herald serve\` as its own process (fresh SQLite store per run, synchronous=` +
        `${sqliteSynchronous()}), one Basic endpoint (maxConcurrency ${HERALD_MAX_CONCURRENCY}) on ` +
        `the listener process; a publisher process. Per run: first, with no Herald running, ` +
        `raw's measurement on that listener; then three variants, each on a fresh Herald: ` +
        `${closedLoopMethod(options.events)} Third, after the same warm-up, ${options.events} ` +
        `single events open-loop ${rateLabel} (those sent in the first ${options.warmupMs} ms ` +
        `left out). Ratios are the median of the per-run ratios to the raw run right before. ` +
        cpuMethod('the `herald serve` process'),
      metrics: [
        ...variantMetrics('', 'batches', runs.batches, paired.baseline, {
          of: 'ratio',
          op: '>=',
          value: 0.5,
        }),
        cpuMetric(`Herald CPU per delivery, ${VARIANT_LABEL.batches}`, runs.batches),
        ...variantMetrics('', 'single', runs.single, paired.baseline),
        cpuMetric(`Herald CPU per delivery, ${VARIANT_LABEL.single}`, runs.single),
        metric(
          `p50 publish → delivered ${rateLabel}`,
          'ms',
          runs.rate.map((r) => r.p50Ms),
        ),
        metric(
          `p99 publish → delivered ${rateLabel}`,
          'ms',
          runs.rate.map((r) => r.p99Ms),
          atTarget ? { target: { of: 'value', op: '<=', value: 10 } } : {},
        ),
        cpuMetric(`Herald CPU per delivery ${rateLabel}`, runs.rate),
      ],
      details: {
        eventsPerRun: options.events,
        batches: detailsOf(runs.batches),
        single: detailsOf(runs.single),
        rate: { ratePerSecond: options.latencyRate, ...detailsOf(runs.rate) },
        ...paired.details(
          context,
          runs.batches.map((r) => r.deliveriesPerSecond),
        ),
      },
    };
  },
};
