// retention: what deleting old history costs the deliveries running at the same time. The
// embedded store is filled with `--backlog-size` finished deliveries (1,000,000; quick 100,000),
// each with its event and attempt, 40 days old. Herald starts on it twice: once with retention
// off (the baseline: the same store, nothing deleted) and once with the default 30 days, which
// purges all of it from the moment it starts. Each time, with the purge running, it is asked for
// a latency measurement (single events at a fixed rate, publish → delivered) and then a drain at
// full rate (a held backlog released at once); the figures are compared between the two.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { Scope } from '../lib/cleanup.js';
import { sleep } from '../lib/clock.js';
import { startInProcessHerald, sqliteSynchronous, type InProcessHerald } from '../lib/herald.js';
import { startListener } from '../lib/listener.js';
import { startLoadGenerator } from '../lib/load.js';
import { deliveredBody, eventInput } from '../lib/payload.js';
import { metric } from '../lib/result.js';
import { deliveryTimeoutMs, type Scenario, type ScenarioContext } from '../lib/scenario.js';
import { percentileOfSorted, ratePerSecond } from '../lib/stats.js';

const MAX_CONCURRENCY = 256;
/** Rows written per transaction while filling the store. */
const FILL_CHUNK = 50_000;
const DAY = 86_400_000;
/** Publishes per second of the latency part (a steady load below the drain rate). */
const LATENCY_RATE = 500;

/** `size` finished deliveries, with their events and attempts, `ageMs` old, written directly. */
async function fillHistory(path: string, size: number, ageMs: number): Promise<number> {
  const store = new SqliteStore({ path, synchronous: 'normal' });
  await store.migrate();
  await store.close();
  const started = performance.now();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const at = Date.now() - ageMs;
  const body = deliveredBody(0);
  // Ids sort before every id Herald makes (their time part starts with "00"), as old ids do.
  const series = 'WITH RECURSIVE s(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM s WHERE n < ?)';
  const events = db.prepare(
    `${series} INSERT INTO events (id, account_id, name, package_id, payload, received_at)
     SELECT printf('evt_00%08d0000000000000000', n), 'acc_bench', 'PACKAGE_COMPLETE',
            printf('pkg-%d', n), ?, ? FROM s`,
  );
  const deliveries = db.prepare(
    `${series} INSERT INTO deliveries (id, event_id, endpoint_id, account_id, event_name, status,
       attempts, cycle_attempts, last_status_code, created_at, updated_at)
     SELECT printf('dlv_00%08d0000000000000000', n), printf('evt_00%08d0000000000000000', n),
            'ep_bench_history', 'acc_bench', 'PACKAGE_COMPLETE', 'succeeded', 1, 1, 200, ?, ? FROM s`,
  );
  const attempts = db.prepare(
    `${series} INSERT INTO attempts (delivery_id, id, number, trigger, started_at, duration_ms,
       status_code, outcome, response_body)
     SELECT printf('dlv_00%08d0000000000000000', n), printf('att_00%08d0000000000000000', n), 1,
            'scheduled', ?, 3, 200, 'success', 'ok' FROM s`,
  );
  for (let from = 0; from < size; from += FILL_CHUNK) {
    const to = Math.min(size, from + FILL_CHUNK) - 1;
    db.transaction(() => {
      events.run(from, to, body, at);
      deliveries.run(from, to, at, at);
      attempts.run(from, to, at);
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return (performance.now() - started) / 1000;
}

/** Deliveries retention has deleted so far (its counter, read from /metrics). */
async function purged(herald: InProcessHerald): Promise<number> {
  const text = await fetch(`${herald.running.url}/metrics`).then((r) => r.text());
  const match = /^herald_retention_deleted_total\{table="deliveries"\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

interface Phase {
  readonly p99Ms: number;
  readonly p50Ms: number;
  readonly drainRate: number;
  /** Deliveries purged when each part started and ended (0 without retention). */
  readonly purgedAt: { latency: [number, number]; drain: [number, number] };
}

async function measure(
  context: ScenarioContext,
  herald: InProcessHerald,
  listener: Awaited<ReturnType<typeof startListener>>,
  load: Awaited<ReturnType<typeof startLoadGenerator>>,
  run: number,
): Promise<Phase> {
  const { options } = context;
  const { api } = herald;
  const endpoint = await api.createBasicEndpoint(`${listener.url}/retention`, {
    maxConcurrency: MAX_CONCURRENCY,
  });
  // Latency: single events at a steady rate, each stamped with its send time.
  const latencyStart = await purged(herald);
  const totalMs = options.warmupMs + options.durationMs;
  const events = Math.round((LATENCY_RATE * totalMs) / 1000);
  await listener.child.calibrate();
  await load.calibrate();
  await listener.child.call('reset', { expect: events, key: 'id', latency: true });
  const input = JSON.stringify(eventInput(run, { benchSentAt: 0 }));
  const published = await load.call('openLoop', {
    origin: herald.running.url,
    path: '/v1/events',
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/json' },
    bodyPrefix: input.slice(0, input.lastIndexOf('0}')),
    ratePerSecond: LATENCY_RATE,
    durationMs: totalMs,
    connections: 16,
    expectStatus: 202,
  });
  if (published.failed > 0) throw new Error(`${published.failed} publishes failed`);
  const stats = await listener.child.call('waitDone', 60_000);
  const latencyEnd = await purged(herald);
  const measuredFrom = load.toRunnerClock(published.startedAt) + options.warmupMs;
  const trips: number[] = [];
  stats.sentAt.forEach((sentAt, i) => {
    const sent = load.toRunnerClock(sentAt);
    if (sent >= measuredFrom) trips.push(listener.child.toRunnerClock(stats.arrivedAt[i]!) - sent);
  });
  const sorted = Float64Array.from(trips).sort();

  // Drain: a held backlog released at once, delivered at full rate.
  const total = options.deliveries;
  await api.setState(endpoint, 'disabled');
  await api.publish(total, { first: 1_000_000 * (run + 1) });
  await listener.child.call('reset', { expect: total, key: 'id', latency: false });
  const drainStart = await purged(herald);
  await api.setState(endpoint, 'enabled');
  const drained = await listener.child.call('waitDone', deliveryTimeoutMs(total));
  const drainEnd = await purged(herald);
  // The next Herald on this store creates its own endpoint on the same listener.
  await api.call('DELETE', `/v1/endpoints/${endpoint}`);
  return {
    p50Ms: percentileOfSorted(sorted, 50),
    p99Ms: percentileOfSorted(sorted, 99),
    drainRate: ratePerSecond(drained.unique, drained.firstAt!, drained.lastAt!),
    purgedAt: { latency: [latencyStart, latencyEnd], drain: [drainStart, drainEnd] },
  };
}

export const retention: Scenario = {
  name: 'retention',
  title: 'Retention purging 1,000,000 finished deliveries while delivering: rate and p99',
  timeoutMs: (o) => Math.min(o.runs, 3) * (deliveryTimeoutMs(o.deliveries) * 2 + 600_000),

  async run(context) {
    const { options, scope, log } = context;
    const size = options.backlogSize;
    const runs = Math.min(options.runs, 3);
    const listener = await startListener();
    scope.add('listener', listener.child);
    const load = scope.add('load generator', await startLoadGenerator());
    const off = { p99: [] as number[], p50: [] as number[], rate: [] as number[] };
    const on = { p99: [] as number[], p50: [] as number[], rate: [] as number[] };
    const details = {
      fillSeconds: [] as number[],
      purgeSeconds: [] as number[],
      purgedDuringLatency: [] as number[],
      purgedDuringDrain: [] as number[],
    };

    for (let run = 0; run < runs; run++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-retention-'));
      const runScope = new Scope(`retention run ${run + 1}`);
      try {
        details.fillSeconds.push(await fillHistory(join(dataDir, 'herald.db'), size, 40 * DAY));
        // Without retention: the same store, nothing deleted.
        const kept = await startInProcessHerald({ HERALD_RETENTION: 'off' }, { dataDir });
        const without = await measure(context, kept, listener, load, run * 2);
        await kept.close();
        off.p99.push(without.p99Ms);
        off.p50.push(without.p50Ms);
        off.rate.push(without.drainRate);

        // With retention: the purge starts with Herald; measured while it runs.
        const started = performance.now();
        const purging = runScope.add(
          'herald',
          await startInProcessHerald({ HERALD_RETENTION: '30d' }, { dataDir }),
        );
        const during = await measure(context, purging, listener, load, run * 2 + 1);
        on.p99.push(during.p99Ms);
        on.p50.push(during.p50Ms);
        on.rate.push(during.drainRate);
        details.purgedDuringLatency.push(during.purgedAt.latency[1] - during.purgedAt.latency[0]);
        details.purgedDuringDrain.push(during.purgedAt.drain[1] - during.purgedAt.drain[0]);
        while ((await purged(purging)) < size) await sleep(250);
        details.purgeSeconds.push((performance.now() - started) / 1000);
        log(
          `run ${run + 1}: without retention ${Math.round(without.drainRate)} deliveries/s, p99 ` +
            `${without.p99Ms.toFixed(1)} ms; purging ${Math.round(during.drainRate)} deliveries/s, ` +
            `p99 ${during.p99Ms.toFixed(1)} ms (purged ${details.purgedDuringLatency.at(-1)} ` +
            `during the latency part, ${details.purgedDuringDrain.at(-1)} during the drain); ` +
            `${size} purged in ${details.purgeSeconds.at(-1)!.toFixed(1)} s`,
        );
      } finally {
        await runScope.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }

    const baselineRate = metric('deliveries/s, retention off', 'deliveries/s', off.rate);
    const baselineP99 = metric('p99 publish → delivered, retention off', 'ms', off.p99);
    return {
      method:
        `Per run: an embedded store (synchronous=${sqliteSynchronous()}) filled directly with ` +
        `${size} succeeded deliveries, each with its event and one attempt, all 40 days old. ` +
        `Herald (in the runner process) starts on it with HERALD_RETENTION=off, then again with ` +
        `30d, whose purge starts with it (steps of 500 rows). Each time, one Basic endpoint ` +
        `(maxConcurrency ${MAX_CONCURRENCY}) on a listener process: first single events published ` +
        `open-loop at ${LATENCY_RATE}/s for ${options.warmupMs + options.durationMs} ms by a ` +
        `load-generator process (publish → delivered, the first ${options.warmupMs} ms left out), ` +
        `then ${options.deliveries} events published while the endpoint is disabled and drained ` +
        `at full rate once it is enabled (first to last distinct delivery at the listener). ` +
        `details.purgedDuring* count the deliveries the purge deleted while each part ran. ` +
        `Ratios: purging / retention off.`,
      metrics: [
        baselineRate,
        metric('deliveries/s while purging', 'deliveries/s', on.rate, {
          baseline: { ...baselineRate, scenario: 'retention' },
        }),
        baselineP99,
        metric('p99 publish → delivered while purging', 'ms', on.p99, {
          baseline: { ...baselineP99, scenario: 'retention' },
        }),
        metric('p50 publish → delivered, retention off', 'ms', off.p50),
        metric('p50 publish → delivered while purging', 'ms', on.p50),
      ],
      details: { ...details, historySize: size, latencyRate: LATENCY_RATE },
    };
  },
};
