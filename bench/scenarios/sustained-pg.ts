// sustained-pg: the sustained scenario on the PostgreSQL store, with one and with two worker
// processes (`herald serve --role all`, plus `--role worker`), each run on a scratch database next
// to the one HERALD_BENCH_DATABASE_URL or HERALD_TEST_DATABASE_URL names. Publishes go to the
// `--role all` process; both processes deliver. Skipped without a database URL.

import { generateMasterKey } from '../../src/services/secret-box.js';
import { HERALD_MAX_CONCURRENCY, heraldPostgres } from '../lib/herald-contestants.js';
import type { Metric, Target } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';
import {
  closedLoopMethod,
  cpuMethod,
  cpuMetric,
  describeRun,
  detailsOf,
  emptyRuns,
  type Runs,
  runVariant,
  startRig,
  VARIANT_LABEL,
  variantMetrics,
} from '../lib/sustained.js';
import { databaseUrl, NO_DATABASE } from './postgres.js';
import { variantTimeoutMs } from './sustained.js';

const VARIANTS = ['batches', 'single'] as const;
const WORKERS = [1, 2] as const;

export const sustainedPg: Scenario = {
  name: 'sustained-pg',
  title: 'Sustained on PostgreSQL, 1 and 2 worker processes: publish and deliver at once',
  baseline: 'raw',
  timeoutMs: (o) =>
    WORKERS.length * o.runs * (VARIANTS.length * (variantTimeoutMs(o) + 30_000) + 30_000),

  async run(context) {
    const { options, scope, log } = context;
    const method =
      `Per run: raw's measurement on the listener, then for each variant a scratch database ` +
      `next to the one HERALD_BENCH_DATABASE_URL (or HERALD_TEST_DATABASE_URL) names, ` +
      `\`herald serve --database <url> --role all\` (plus \`--role worker\` for two workers) as ` +
      `separate processes, one Basic endpoint (maxConcurrency ${HERALD_MAX_CONCURRENCY}); ` +
      `publishes go to the --role all process: ${closedLoopMethod(options.events)} Ratios: ` +
      `median of per-run ratios to the raw run right before. ` +
      cpuMethod(
        "Herald's processes only (--role all and --role worker; the PostgreSQL server's CPU " +
          'time is not counted)',
      );
    const url = databaseUrl();
    if (!url) return { method, metrics: [], details: {}, skipped: NO_DATABASE };
    const { paired, rig, spec } = await startRig(scope, options);
    const masterKey = generateMasterKey();
    const metrics: Metric[] = [];
    const details: Record<string, unknown> = { eventsPerRun: options.events };

    for (const workers of WORKERS) {
      const herald = heraldPostgres(url, workers, masterKey);
      const runs: Runs = emptyRuns();
      const rawRuns: number[] = [];
      for (let run = 0; run < options.runs; run++) {
        rawRuns.push(await paired.measure(`P${workers}${run}R`));
        for (const variant of VARIANTS) {
          const result = await runVariant(rig, herald, variant, spec);
          runs[variant].push(result);
          log(`${workers} worker(s), run ${run + 1}: ${describeRun('Herald', variant, result)}`);
        }
      }
      const suffix = `${workers} worker${workers > 1 ? 's' : ''}, `;
      const baseline = { scenario: 'raw', name: 'requests/s', runs: rawRuns };
      for (const variant of VARIANTS) {
        const target: Target | undefined =
          variant === 'batches' && workers === 2
            ? { of: 'value', op: '>=', value: 8000 }
            : undefined;
        metrics.push(
          ...variantMetrics(suffix, variant, runs[variant], baseline, target),
          cpuMetric(`${suffix}Herald CPU per delivery, ${VARIANT_LABEL[variant]}`, runs[variant]),
        );
      }
      details[`workers${workers}`] = {
        pairedRawRequestsPerSecond: rawRuns,
        batches: detailsOf(runs.batches),
        single: detailsOf(runs.single),
      };
    }
    return { method, metrics, details };
  },
};
