// basic: Herald end to end on the embedded SQLite store, one Basic endpoint, against the same
// listener process as the raw baseline. Events are published first, while the endpoint is
// disabled (their deliveries wait as `held`); enabling it releases them all at once, and the
// listener times the drain. So the figure is Herald's delivery pipeline alone (claim, lanes,
// auth header, send, batched result writes), not competing with its own ingest.
// Right before each run, with no Herald running, the raw limit is measured again on the same
// listener: the ratio is the median of the per-run ratios, so a shared machine's load drifting
// over the minutes between the raw scenario and this one does not move it.

import { Scope } from '../lib/cleanup.js';
import { startInProcessHerald, sqliteSynchronous } from '../lib/herald.js';
import { startPairedRaw } from '../lib/raw-load.js';
import { metric } from '../lib/result.js';
import { deliveryTimeoutMs, type Scenario } from '../lib/scenario.js';
import { ratePerSecond } from '../lib/stats.js';

const MAX_CONCURRENCY = 256;

export const basic: Scenario = {
  name: 'basic',
  title: 'Herald, embedded SQLite, one Basic endpoint: deliveries/s',
  baseline: 'raw',
  timeoutMs: (o) => o.runs * (deliveryTimeoutMs(o.deliveries) + 60_000),

  async run(context) {
    const { options, scope, log } = context;
    const paired = await startPairedRaw(scope, options);
    const { listener } = paired;
    const warmup = Math.min(2000, options.deliveries);
    const total = options.deliveries;
    const rates: number[] = [];
    const details = {
      connectionsOpened: [] as number[],
      duplicates: [] as number[],
      drainSeconds: [] as number[],
      headerNames: [] as readonly string[],
    };

    for (let run = 0; run < options.runs; run++) {
      const rawRate = await paired.measure(`B${run}R`);
      const runScope = new Scope(`basic run ${run + 1}`);
      try {
        const herald = runScope.add('herald', await startInProcessHerald());
        const { api } = herald;
        const endpoint = await api.createBasicEndpoint(`${listener.url}/basic`, {
          maxConcurrency: MAX_CONCURRENCY,
        });
        // Warm-up: JIT, the endpoint cache and keep-alive connections, as raw warms up too.
        await listener.child.call('reset', { expect: warmup, key: 'id', latency: false });
        await api.publish(warmup);
        const warm = await listener.child.call('waitDone', deliveryTimeoutMs(warmup));
        details.headerNames = warm.headerNames;

        await api.setState(endpoint, 'disabled');
        await api.publish(total, { first: warmup });
        await listener.child.call('reset', { expect: total, key: 'id', latency: false });
        await api.setState(endpoint, 'enabled');
        const stats = await listener.child.call('waitDone', deliveryTimeoutMs(total));
        const rate = ratePerSecond(stats.unique, stats.firstAt!, stats.lastAt!);
        rates.push(rate);
        details.connectionsOpened.push(stats.connections);
        details.duplicates.push(stats.duplicates);
        details.drainSeconds.push((stats.lastAt! - stats.firstAt!) / 1000);
        log(
          `run ${run + 1}: ${Math.round(rate)} deliveries/s, raw right before ${Math.round(rawRate)} requests/s`,
        );
      } finally {
        await runScope.close();
      }
    }

    const rawHeaders = context.results.get('raw')?.details.headerNames;
    const sameHeaders = Array.isArray(rawHeaders)
      ? rawHeaders.join(',') === details.headerNames.join(',')
      : null;
    if (sameHeaders === false) {
      log(
        `warning: Herald sent headers ${details.headerNames.join(', ')}; raw sent ${String(rawHeaders)}`,
      );
    }
    return {
      method:
        `Herald runs in the runner process (startHerald, fresh SQLite store per run, ` +
        `synchronous=${sqliteSynchronous()}, SSRF guard lifted for loopback) with one Basic ` +
        `endpoint without signing (maxConcurrency ${MAX_CONCURRENCY}) on a listener process ` +
        `like raw's. Per run: first, with no Herald running, raw's measurement on that listener ` +
        `(${options.warmupMs} ms warm-up, ${options.durationMs} ms counted); then ${warmup} ` +
        `warm-up deliveries; then ${total} events published in batches of 1,000 while the ` +
        `endpoint is disabled (held), the endpoint enabled, and deliveries/s counted at the ` +
        `listener from the first to the last distinct webhook-id. The ratio is the median of the ` +
        `per-run ratios to the raw figure measured right before each run.`,
      metrics: [
        metric('deliveries/s', 'deliveries/s', rates, {
          paired: paired.baseline,
          target: { of: 'ratio', op: '>=', value: 0.5 },
        }),
      ],
      details: {
        ...details,
        deliveriesPerRun: total,
        sameHeadersAsRaw: sameHeaders,
        ...paired.details(context, rates),
      },
    };
  },
};
