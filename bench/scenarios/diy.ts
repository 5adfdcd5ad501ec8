// diy: Herald against the relay a Node team would write instead (node:http ingest → BullMQ on
// Redis without persistence → BullMQ Worker with undici, concurrency 64; see diy-process.ts),
// side by side: in every run both get the same publisher, the same listener, the same events and
// the same raw run right before, one after the other (which goes first alternates run by run).
// Herald / DIY is the median of the per-run ratios.

import {
  DIY_CONCURRENCY,
  DIY_PREFIX,
  diyLayout,
  diyRelay,
  obliterateStaleQueues,
} from '../lib/diy.js';
import { HERALD_MAX_CONCURRENCY, heraldSqlite } from '../lib/herald-contestants.js';
import { ensureRedis } from '../lib/redis.js';
import { metric } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';
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
} from '../lib/sustained.js';
import { variantTimeoutMs } from './sustained.js';

const VARIANTS = ['batches', 'single'] as const satisfies readonly Variant[];

export const diy: Scenario = {
  name: 'diy',
  title: 'Herald / a DIY relay (node:http → BullMQ on Redis → undici), sustained, side by side',
  baseline: 'raw',
  timeoutMs: (o) =>
    o.runs * (2 * VARIANTS.length * variantTimeoutMs(o) + o.warmupMs + o.durationMs + 30_000) +
    60_000,

  async run(context) {
    const { options, scope, log } = context;
    const layout = diyLayout();
    const method =
      `Per run, on one listener process and one publisher process: raw's measurement, then ` +
      `for each variant Herald (\`herald serve\`, fresh SQLite store, one Basic endpoint, ` +
      `maxConcurrency ${HERALD_MAX_CONCURRENCY}) and the DIY relay, which goes first ` +
      `alternating run by run. The relay: a node:http ingest accepting the same bodies ` +
      `(POST /v1/events, one event or an array; validated and serialised by Herald's own ` +
      `normaliseEvent), queue.add / queue.addBulk to a BullMQ queue on Redis (no persistence), ` +
      `a BullMQ Worker (concurrency ${DIY_CONCURRENCY}) POSTing each job through an undici ` +
      `Pool with Herald's headers; ingest and Worker ${layout === 'two' ? 'in two processes' : 'in one process'}; ` +
      `a new queue (keys ${DIY_PREFIX}:<queue>:*) per run, obliterated before and after. ` +
      `Each system, fresh per variant: ${closedLoopMethod(options.events)} ` +
      `Ratios: median of per-run ratios (DIY to the raw run right before; Herald to the DIY ` +
      `run of the same round). ` +
      cpuMethod(
        `the \`herald serve\` process, and of the relay's ` +
          `${layout === 'two' ? 'two processes' : 'process'} plus the Redis server's (Redis is ` +
          `the relay's store, as SQLite is inside Herald's process; on a Redis shared with ` +
          `other clients their commands count too)`,
      ) +
      ` For CPU, Herald / DIY below 1 means Herald spends less per delivery.`;
    const found = await ensureRedis(scope, log);
    if (!found.server) return { method, metrics: [], details: {}, skipped: found.reason };
    const redis = found.server;
    await obliterateStaleQueues(redis, log);
    const { paired, rig, spec } = await startRig(scope, options);
    const herald = heraldSqlite();
    const relay = diyRelay(redis, layout, log);
    const heraldRuns = emptyRuns();
    const diyRuns = emptyRuns();

    for (let run = 0; run < options.runs; run++) {
      const rawRate = await paired.measure(`D${run}R`);
      log(`run ${run + 1}: raw right before ${Math.round(rawRate)} requests/s`);
      const order = run % 2 === 0 ? [herald, relay] : [relay, herald];
      for (const variant of VARIANTS) {
        for (const contestant of order) {
          const result = await runVariant(rig, contestant, variant, spec);
          (contestant === herald ? heraldRuns : diyRuns)[variant].push(result);
          log(`run ${run + 1}: ${describeRun(contestant.name, variant, result)}`);
        }
      }
    }

    const diyRates = (variant: Variant) => diyRuns[variant].map((r) => r.deliveriesPerSecond);
    const cpuMetrics = (variant: (typeof VARIANTS)[number]) => {
      const label = VARIANT_LABEL[variant];
      return [
        cpuMetric(`DIY CPU per delivery, ${label}`, diyRuns[variant]),
        cpuMetric(`Herald CPU per delivery, ${label}`, heraldRuns[variant], {
          scenario: 'DIY',
          name: `CPU per delivery, ${label}`,
          runs: diyRuns[variant].map((r) => r.cpuUsPerDelivery),
        }),
      ];
    };
    const heraldOverDiy = (variant: (typeof VARIANTS)[number]) =>
      metric(
        `Herald deliveries/s, ${VARIANT_LABEL[variant]}`,
        'deliveries/s',
        heraldRuns[variant].map((r) => r.deliveriesPerSecond),
        {
          paired: {
            scenario: 'DIY',
            name: `deliveries/s, ${VARIANT_LABEL[variant]}`,
            runs: diyRates(variant),
          },
          ...(variant === 'batches' ? { target: { of: 'ratio', op: '>=', value: 2.5 } } : {}),
        },
      );
    return {
      method,
      metrics: [
        ...variantMetrics('', 'batches', diyRuns.batches, paired.baseline),
        ...variantMetrics('', 'single', diyRuns.single, paired.baseline),
        heraldOverDiy('batches'),
        heraldOverDiy('single'),
        ...cpuMetrics('batches'),
        ...cpuMetrics('single'),
      ],
      details: {
        eventsPerRun: options.events,
        redis: { ...redis, keyPrefix: DIY_PREFIX },
        diyLayout: layout,
        diy: { batches: detailsOf(diyRuns.batches), single: detailsOf(diyRuns.single) },
        herald: {
          batches: detailsOf(heraldRuns.batches),
          single: detailsOf(heraldRuns.single),
          batchesP50Ms: heraldRuns.batches.map((r) => r.p50Ms),
          batchesP99Ms: heraldRuns.batches.map((r) => r.p99Ms),
          singleP50Ms: heraldRuns.single.map((r) => r.p50Ms),
          singleP99Ms: heraldRuns.single.map((r) => r.p99Ms),
        },
        ...paired.details(context, diyRates('batches')),
      },
    };
  },
};
