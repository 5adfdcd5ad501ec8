// backlog: a large pile of pending deliveries, and what it costs to drain it. Herald runs as its
// own process (`herald serve`) so its RSS is Herald's alone. Events are published while the
// endpoint is disabled, so their deliveries are stored `held` (the path Herald takes for a
// listener someone has switched off); enabling the endpoint releases them all at once and the
// drain is timed at the listener while Herald's RSS is sampled. Long by design: it runs once.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scope } from '../lib/cleanup.js';
import { wallNow } from '../lib/clock.js';
import { sqliteSynchronous } from '../lib/herald.js';
import { BENCH_API_KEY, type HeraldApi } from '../lib/herald-api.js';
import { spawnHerald } from '../lib/herald-process.js';
import { startListener, type Listener } from '../lib/listener.js';
import { metric } from '../lib/result.js';
import {
  baselineMetric,
  deliveryTimeoutMs,
  type Scenario,
  type ScenarioContext,
} from '../lib/scenario.js';
import { ratePerSecond } from '../lib/stats.js';

const MAX_CONCURRENCY = 256;
const RSS_SAMPLE_MS = 250;
const PROGRESS_MS = 15_000;
const MiB = 2 ** 20;
// What of the RSS is JavaScript: the rest is native (SQLite's page cache, buffers, code).
const HEAP_METRICS = [
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_external_memory_bytes',
];

async function heapMiB(api: HeraldApi): Promise<Record<string, number>> {
  const values = await api.metrics(HEAP_METRICS);
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.round(v / MiB)]));
}

/** Longest the drain is timed; what is not delivered by then is reported as such. */
function drainLimitMs(quick: boolean): number {
  return (quick ? 2 : 5) * 60_000;
}

interface BacklogRun {
  readonly maxRssMiB: number;
  readonly peakRssMiB: number;
  readonly rate: number;
  readonly details: Record<string, unknown>;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** One backlog on a fresh store, with the store thread `thread`. */
async function drainBacklog(
  context: ScenarioContext,
  listener: Listener,
  thread: 'on' | 'off',
): Promise<BacklogRun> {
  const { options, log } = context;
  const scope = new Scope(`backlog, store thread ${thread}`);
  try {
    const size = options.backlogSize;
    log(`store thread ${thread}`);
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-backlog-'));
    scope.defer('backlog data dir', () => rmSync(dataDir, { recursive: true, force: true }));
    const herald = scope.add(
      `herald serve (store thread ${thread})`,
      await spawnHerald(
        'herald serve',
        ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--allow-private-network'],
        {
          HERALD_API_KEY: BENCH_API_KEY,
          HERALD_SQLITE_SYNCHRONOUS: sqliteSynchronous(),
          HERALD_LOG_LEVEL: 'warn',
          HERALD_SQLITE_THREAD: thread,
        },
      ),
    );
    const { api } = herald;
    const endpoint = await api.createBasicEndpoint(`${listener.url}/backlog`, {
      maxConcurrency: MAX_CONCURRENCY,
    });
    await api.setState(endpoint, 'disabled');

    const publishStart = wallNow();
    let progress = setInterval(
      () => log(`publishing… ${Math.round((wallNow() - publishStart) / 1000)} s`),
      PROGRESS_MS,
    );
    try {
      await api.publish(size, { concurrency: 4 });
    } finally {
      clearInterval(progress);
    }
    const publishSeconds = (wallNow() - publishStart) / 1000;
    const rssBeforeMiB = (herald.rssBytes() ?? NaN) / MiB;
    const heapBefore = await heapMiB(api);
    const dbBytes = ['herald.db', 'herald.db-wal'].reduce(
      (n, f) => n + fileSize(join(dataDir, f)),
      0,
    );
    log(
      `published ${size} events in ${publishSeconds.toFixed(1)} s (${Math.round(size / publishSeconds)}/s); store ${Math.round(dbBytes / MiB)} MiB; RSS ${Math.round(rssBeforeMiB)} MiB`,
    );

    await listener.child.call('reset', { expect: size, key: 'id', latency: false });
    let maxRss = 0;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, herald.rssBytes() ?? 0);
    }, RSS_SAMPLE_MS);
    const releaseStart = wallNow();
    let releaseSeconds = NaN;
    progress = setInterval(() => {
      void listener.child.call('stats').then(
        (s) =>
          log(
            `draining… ${s.unique} of ${size} delivered, RSS ${Math.round((herald.rssBytes() ?? 0) / MiB)} MiB`,
          ),
        () => {},
      );
    }, PROGRESS_MS);
    // The drain is bounded: a backlog Herald drains slowly is reported from the part drained
    // within the limit (rate and RSS over that window) rather than holding the bench for hours.
    const limitMs = drainLimitMs(options.quick);
    let drained = false;
    try {
      await api.setState(endpoint, 'enabled');
      releaseSeconds = (wallNow() - releaseStart) / 1000;
      drained = await listener.child.call('completes', limitMs);
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
    }
    const stats = await listener.child.call('stats');
    maxRss = Math.max(maxRss, herald.rssBytes() ?? 0);
    const heapAfter = await heapMiB(api);
    const rate = ratePerSecond(stats.unique, stats.firstAt!, stats.lastAt!);
    const maxRssMiB = maxRss / MiB;
    log(
      `${drained ? 'drained' : `NOT drained in ${limitMs / 1000} s: delivered`} ${stats.unique} of ${size} at ${Math.round(rate)} deliveries/s; max RSS ${Math.round(maxRssMiB)} MiB`,
    );

    const peakRssMiB = (herald.peakRssBytes() ?? NaN) / MiB;
    return {
      maxRssMiB,
      peakRssMiB,
      rate,
      details: {
        drained,
        delivered: stats.unique,
        publishSeconds,
        publishEventsPerSecond: size / publishSeconds,
        storeBytesBeforeDrain: dbBytes,
        rssBeforeReleaseMiB: rssBeforeMiB,
        javascriptMiBBeforeRelease: heapBefore,
        javascriptMiBAfterDrain: heapAfter,
        releaseRequestSeconds: releaseSeconds,
        drainSeconds: (stats.lastAt! - stats.firstAt!) / 1000,
        duplicates: stats.duplicates,
        connectionsOpened: stats.connections,
      },
    };
  } finally {
    await scope.close();
  }
}

export const backlog: Scenario = {
  name: 'backlog',
  title: 'Backlog: RSS and drain rate of a large pile of pending deliveries',
  timeoutMs: (o) => 2 * (deliveryTimeoutMs(o.backlogSize) + drainLimitMs(o.quick) + 5 * 60_000),

  async run(context) {
    const { options, scope } = context;
    const listener = await startListener();
    scope.add('listener', listener.child);
    // Herald's default, then the store on the main thread (HERALD_SQLITE_THREAD=off): the
    // memory it saves and the drain rate it costs.
    const on = await drainBacklog(context, listener, 'on');
    const off = await drainBacklog(context, listener, 'off');
    const size = options.backlogSize;
    return {
      method:
        `\`herald serve\` as a separate process (fresh SQLite store, synchronous=` +
        `${sqliteSynchronous()}), one Basic endpoint (maxConcurrency ${MAX_CONCURRENCY}) on the ` +
        `listener process. ${size.toLocaleString('en-US')} events are published in batches of ` +
        `1,000 while the endpoint is disabled (deliveries held); enabling it releases them in ` +
        `one update. Drain rate: distinct webhook-ids/s at the listener, first to last. RSS: ` +
        `Herald's VmRSS sampled every ${RSS_SAMPLE_MS} ms from the release to the last ` +
        `delivery; peak RSS is VmHWM (publishing included). The drain is timed for at most ` +
        `${drainLimitMs(options.quick) / 1000} s: if the backlog is not empty by then, both are ` +
        `over the part delivered (details: drained, delivered). One run with the store on its own ` +
        `thread (the default), one with HERALD_SQLITE_THREAD=off; both with serve's other defaults ` +
        `(HERALD_HEAP_GROWTH=50).`,
      metrics: [
        metric('max RSS while draining', 'MiB', [on.maxRssMiB], {
          target: { of: 'value', op: '<=', value: 200 },
        }),
        metric('peak RSS since start (VmHWM)', 'MiB', [on.peakRssMiB]),
        metric('drain rate', 'deliveries/s', [on.rate], {
          baseline: baselineMetric(context, 'basic', 'deliveries/s'),
        }),
        metric('max RSS while draining, store thread off', 'MiB', [off.maxRssMiB]),
        metric('drain rate, store thread off', 'deliveries/s', [off.rate]),
      ],
      details: {
        backlog: size,
        drainLimitSeconds: drainLimitMs(options.quick) / 1000,
        storeThreadOn: on.details,
        storeThreadOff: off.details,
      },
    };
  },
};
