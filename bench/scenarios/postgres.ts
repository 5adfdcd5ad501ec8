// postgres: Herald on the PostgreSQL store with one and with two worker processes. Skipped until
// the adapter exists (src/store/postgres/) and a database is named by HERALD_BENCH_DATABASE_URL
// or HERALD_TEST_DATABASE_URL. Each run gets a scratch database next to the named one; `herald
// serve --role all` serves the API and delivers, a second process `--role worker` only delivers.
// Otherwise measured as basic: held events released at once, timed at the listener.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMasterKey } from '../../src/services/secret-box.js';
import { Scope } from '../lib/cleanup.js';
import { BENCH_API_KEY } from '../lib/herald-api.js';
import { spawnHerald } from '../lib/herald-process.js';
import { startListener } from '../lib/listener.js';
import { createScratchDatabase } from '../lib/pg-scratch.js';
import { metric, type Metric } from '../lib/result.js';
import { deliveryTimeoutMs, type Scenario } from '../lib/scenario.js';
import { ratePerSecond } from '../lib/stats.js';

const MAX_CONCURRENCY = 256;
const ADAPTER_DIR = fileURLToPath(new URL('../../../src/store/postgres/', import.meta.url));

export const NO_DATABASE =
  'set HERALD_BENCH_DATABASE_URL (or HERALD_TEST_DATABASE_URL) to a postgres:// URL';

/** The database the PostgreSQL scenarios make their scratch databases next to, if one is named. */
export function databaseUrl(): string | undefined {
  return process.env.HERALD_BENCH_DATABASE_URL || process.env.HERALD_TEST_DATABASE_URL || undefined;
}

export const postgres: Scenario = {
  name: 'postgres',
  title: 'Herald on PostgreSQL, 1 and 2 worker processes: deliveries/s',
  timeoutMs: (o) => 2 * o.runs * (deliveryTimeoutMs(o.deliveries) + 90_000),

  async run({ options, scope, log }) {
    const url = databaseUrl();
    const method =
      `Per run: a scratch database next to the one HERALD_BENCH_DATABASE_URL (or ` +
      `HERALD_TEST_DATABASE_URL) names; \`herald serve --database <url> --role all\`, plus ` +
      `\`--role worker\` for two workers, as separate processes; one Basic endpoint ` +
      `(maxConcurrency ${MAX_CONCURRENCY}) on the listener process; warm-up deliveries, then ` +
      `${options.deliveries} events published while the endpoint is disabled, released at ` +
      `once, deliveries/s counted at the listener from first to last.`;
    if (!existsSync(ADAPTER_DIR)) {
      return { method, metrics: [], details: {}, skipped: 'src/store/postgres does not exist yet' };
    }
    if (!url) return { method, metrics: [], details: {}, skipped: NO_DATABASE };
    const listener = await startListener();
    scope.add('listener', listener.child);
    const masterKey = generateMasterKey();
    const warmup = Math.min(2000, options.deliveries);
    const total = options.deliveries;
    const metrics: Metric[] = [];
    const details: Record<string, unknown> = { deliveriesPerRun: total };
    let oneWorker: Metric | undefined;

    for (const workers of [1, 2]) {
      const rates: number[] = [];
      for (let run = 0; run < options.runs; run++) {
        const runScope = new Scope(`postgres ${workers} worker(s) run ${run + 1}`);
        try {
          const db = runScope.add('scratch database', await createScratchDatabase(url, run));
          const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-pg-'));
          runScope.defer('data dir', () => rmSync(dataDir, { recursive: true, force: true }));
          const env = {
            HERALD_API_KEY: BENCH_API_KEY,
            HERALD_MASTER_KEY: masterKey,
            HERALD_LOG_LEVEL: 'warn',
          };
          const args = (role: string) => [
            '--database',
            db.url,
            '--role',
            role,
            '--port',
            '0',
            '--host',
            '127.0.0.1',
            '--data-dir',
            dataDir,
            '--allow-private-network',
          ];
          const primary = runScope.add(
            'herald --role all',
            await spawnHerald('herald --role all', args('all'), env),
          );
          for (let w = 1; w < workers; w++) {
            runScope.add(
              `herald --role worker ${w}`,
              await spawnHerald(`herald --role worker ${w}`, args('worker'), env),
            );
          }
          const { api } = primary;
          const endpoint = await api.createBasicEndpoint(`${listener.url}/postgres`, {
            maxConcurrency: MAX_CONCURRENCY,
          });
          await listener.child.call('reset', { expect: warmup, key: 'id', latency: false });
          await api.publish(warmup);
          await listener.child.call('waitDone', deliveryTimeoutMs(warmup));

          await api.setState(endpoint, 'disabled');
          await api.publish(total, { first: warmup });
          await listener.child.call('reset', { expect: total, key: 'id', latency: false });
          await api.setState(endpoint, 'enabled');
          const stats = await listener.child.call('waitDone', deliveryTimeoutMs(total));
          const rate = ratePerSecond(stats.unique, stats.firstAt!, stats.lastAt!);
          rates.push(rate);
          log(`${workers} worker(s), run ${run + 1}: ${Math.round(rate)} deliveries/s`);
        } finally {
          await runScope.close();
        }
      }
      const m = metric(
        `deliveries/s, ${workers} worker${workers > 1 ? 's' : ''}`,
        'deliveries/s',
        rates,
        {
          ...(workers === 2 && oneWorker
            ? { baseline: { ...oneWorker, scenario: 'postgres' } }
            : {}),
          ...(workers === 2
            ? { target: { of: 'value' as const, op: '>=' as const, value: 5000 } }
            : {}),
        },
      );
      if (workers === 1) oneWorker = m;
      metrics.push(m);
    }
    return { method, metrics, details };
  },
};
