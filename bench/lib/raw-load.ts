// The raw limit's measurement: the runner's own process POSTs Herald's exact body and headers
// through an undici Pool to a listener process, as fast as the pool allows. The raw scenario
// repeats it on its own; basic and oauth also run one right before each of their runs, so each
// of their runs has a raw figure taken in the same minute (see `PairedBaseline` in result.ts).

import { Pool } from 'undici';
import type { Scope } from './cleanup.js';
import { sleep } from './clock.js';
import { startListener, type Listener } from './listener.js';
import { deliveredBody, deliveryHeaders, syntheticWebhookId } from './payload.js';
import type { PairedBaseline } from './result.js';
import { baselineMetric, type BenchOptions, type ScenarioContext } from './scenario.js';
import { median, ratePerSecond } from './stats.js';

/** Herald's outbound pool uses the same: 128 keep-alive connections per origin, pipelining 1. */
export const RAW_CONNECTIONS = 128;

export interface RawRun {
  readonly rate: number;
  /** Connections the listener saw opened during the counted window. */
  readonly connections: number;
  readonly headerNames: readonly string[];
}

export function rawPool(listener: Listener): Pool {
  return new Pool(listener.url, { connections: RAW_CONNECTIONS, pipelining: 1 });
}

/**
 * One timed run: `warmupMs` of traffic not counted, then requests/s counted at the listener over
 * `durationMs` (distinct webhook-ids between the first and the last arrival). `tag` keeps the
 * webhook-ids of different runs apart.
 */
export async function measureRaw(
  pool: Pool,
  listener: Listener,
  o: { readonly warmupMs: number; readonly durationMs: number; readonly tag: string },
): Promise<RawRun> {
  const body = deliveredBody(0);
  let sent = 0;
  let stop = false;
  let errors = 0;
  const loop = async (): Promise<void> => {
    while (!stop) {
      try {
        const res = await pool.request({
          path: '/raw',
          method: 'POST',
          headers: deliveryHeaders(syntheticWebhookId(o.tag, sent++)),
          body,
        });
        await res.body.dump();
      } catch {
        // Fatal for the run (and the pool may be closed): stop instead of spinning.
        errors++;
        stop = true;
      }
    }
  };
  const loops = Array.from({ length: RAW_CONNECTIONS }, loop);
  await sleep(o.warmupMs);
  await listener.child.call('reset', {
    expect: Number.MAX_SAFE_INTEGER,
    key: 'id',
    latency: false,
  });
  await sleep(o.durationMs);
  stop = true;
  await Promise.all(loops);
  const stats = await listener.child.call('stats');
  if (errors > 0) throw new Error(`raw: ${errors} requests failed`);
  return {
    rate: ratePerSecond(stats.unique, stats.firstAt ?? 0, stats.lastAt ?? 0),
    connections: stats.connections,
    headerNames: stats.headerNames,
  };
}

export interface PairedRaw {
  /** The listener the raw runs send to (basic delivers to it too). */
  readonly listener: Listener;
  /** The raw runs so far, as the baseline of a metric whose runs they preceded one for one. */
  readonly baseline: PairedBaseline;
  /** One raw run, as long as the raw scenario's; returns its requests/s. */
  measure(tag: string): Promise<number>;
  /** For the JSON: the raw runs, and `rates` against the raw scenario's median (if it ran). */
  details(
    context: ScenarioContext,
    rates: readonly number[],
  ): { pairedRawRequestsPerSecond: readonly number[]; ratioToRawScenario: number | null };
}

/** A listener process and pool for raw runs paired with a scenario's own; closed with `scope`. */
export async function startPairedRaw(scope: Scope, options: BenchOptions): Promise<PairedRaw> {
  const listener = await startListener();
  scope.add('listener', listener.child);
  const pool = rawPool(listener);
  scope.defer('raw pool', () => pool.close());
  const rates: number[] = [];
  return {
    listener,
    baseline: { scenario: 'raw', name: 'requests/s', runs: rates },
    async measure(tag) {
      const { rate } = await measureRaw(pool, listener, {
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        tag,
      });
      rates.push(rate);
      return rate;
    },
    details(context, herald) {
      const raw = baselineMetric(context, 'raw', 'requests/s');
      return {
        pairedRawRequestsPerSecond: rates,
        ratioToRawScenario: raw ? median(herald) / raw.median : null,
      };
    },
  };
}
