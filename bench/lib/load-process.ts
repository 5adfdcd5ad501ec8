// A load generator in its own process, so the client's CPU is not charged to Herald's event loop
// (on two cores it still competes for the machine, as any client would). Closed loop for
// throughput (N requests always in flight) and open loop for latency (a fixed rate, whatever the
// server does, so slow answers cannot slow the offered load down). Started by load.ts.

import { Pool } from 'undici';
import { wallNow } from './clock.js';
import type { ClosedLoopResult, LoadApi, OpenLoopResult, PublishResult } from './load-protocol.js';
import { stampedBody } from './payload.js';
import { serveRpc } from './rpc.js';
import { percentileOfSorted } from './stats.js';

const REQUEST_TIMEOUT_MS = 30_000;

function newPool(origin: string, connections: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
}

const sortedCopy = (values: number[]): Float64Array => Float64Array.from(values).sort();

/** Answers by status, failures, and the first failure's description. */
class Tally {
  readonly statuses: Record<string, number> = {};
  failed = 0;
  firstError: string | null = null;

  /** Counts an answer; true when it has the expected status. */
  answer(status: number, text: string, expected: number): boolean {
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    if (status === expected) return true;
    this.fail(`HTTP ${status}: ${text.slice(0, 300)}`);
    return false;
  }

  fail(error: unknown): void {
    this.failed++;
    this.firstError ??= String(error);
  }
}

/** Runs `count` copies of `loop` at once, then closes the pool. */
async function inParallel(pool: Pool, count: number, loop: () => Promise<void>): Promise<void> {
  try {
    await Promise.all(Array.from({ length: count }, loop));
  } finally {
    await pool.close();
  }
}

const api: LoadApi = {
  async closedLoop(spec): Promise<ClosedLoopResult> {
    const pool = newPool(spec.origin, spec.connections);
    const start = wallNow();
    const windowStart = start + spec.warmupMs;
    const windowEnd = windowStart + spec.durationMs;
    const tally = new Tally();
    const latencies: number[] = [];
    let completed = 0;
    const loop = async (): Promise<void> => {
      while (wallNow() < windowEnd) {
        const sentAt = wallNow();
        try {
          const res = await pool.request({
            path: spec.path,
            method: 'POST',
            headers: spec.headers,
            body: spec.body,
          });
          const text = await res.body.text();
          const doneAt = wallNow();
          if (doneAt < windowStart || doneAt >= windowEnd) continue;
          if (tally.answer(res.statusCode, text, spec.expectStatus)) {
            completed++;
            latencies.push(doneAt - sentAt);
          }
        } catch (error) {
          tally.fail(error);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    await inParallel(pool, spec.inflight, loop);
    const sorted = sortedCopy(latencies);
    return {
      completed,
      failed: tally.failed,
      statuses: tally.statuses,
      measuredMs: spec.durationMs,
      latencyP50Ms: percentileOfSorted(sorted, 50),
      latencyP99Ms: percentileOfSorted(sorted, 99),
      firstError: tally.firstError,
    };
  },

  async openLoop(spec): Promise<OpenLoopResult> {
    const pool = newPool(spec.origin, spec.connections);
    const total = Math.round((spec.ratePerSecond * spec.durationMs) / 1000);
    const tally = new Tally();
    const responseTimes: number[] = [];
    const requests: Promise<void>[] = [];
    let completed = 0;
    let maxLagMs = 0;
    const startedAt = wallNow();
    const fire = (n: number): void => {
      const sentAt = wallNow();
      maxLagMs = Math.max(maxLagMs, sentAt - (startedAt + (n * 1000) / spec.ratePerSecond));
      requests.push(
        pool
          .request({
            path: spec.path,
            method: 'POST',
            headers: spec.headers,
            body: `${spec.bodyPrefix}${sentAt}}`,
          })
          .then(async (res) => {
            const text = await res.body.text();
            if (tally.answer(res.statusCode, text, spec.expectStatus)) {
              completed++;
              responseTimes.push(wallNow() - sentAt);
            }
          })
          .catch((error: unknown) => tally.fail(error)),
      );
    };
    // Timers fire at best every millisecond: each tick sends whatever the schedule says is due.
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(
          total,
          Math.floor(((wallNow() - startedAt) * spec.ratePerSecond) / 1000) + 1,
        );
        while (sent < due) fire(sent++);
        if (sent >= total) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
    try {
      await Promise.all(requests);
    } finally {
      await pool.close();
    }
    const sorted = sortedCopy(responseTimes);
    return {
      sent,
      completed,
      failed: tally.failed,
      statuses: tally.statuses,
      startedAt,
      firstError: tally.firstError,
      responseP50Ms: percentileOfSorted(sorted, 50),
      responseP99Ms: percentileOfSorted(sorted, 99),
      maxLagMs,
    };
  },

  async publish(spec): Promise<PublishResult> {
    const pool = newPool(spec.origin, spec.publishers);
    const tally = new Tally();
    const responseTimes: number[] = [];
    let next = 0;
    let accepted = 0;
    let startedAt: number | null = null;
    let finishedAt = 0;
    const single = spec.batchSize === 1;
    const publisher = async (): Promise<void> => {
      while (next < spec.total) {
        const offset = next;
        const count = Math.min(spec.batchSize, spec.total - offset);
        next += count;
        const sentAt = wallNow();
        startedAt ??= sentAt;
        try {
          const res = await pool.request({
            path: spec.path,
            method: 'POST',
            headers: spec.headers,
            body: stampedBody(spec.first + offset, count, sentAt, single),
          });
          const text = await res.body.text();
          finishedAt = wallNow();
          responseTimes.push(finishedAt - sentAt);
          if (tally.answer(res.statusCode, text, spec.expectStatus)) accepted += count;
        } catch (error) {
          tally.fail(error);
        }
      }
    };
    await inParallel(pool, spec.publishers, publisher);
    const sorted = sortedCopy(responseTimes);
    return {
      accepted,
      failed: tally.failed,
      statuses: tally.statuses,
      firstError: tally.firstError,
      startedAt: startedAt ?? wallNow(),
      finishedAt,
      responseP50Ms: percentileOfSorted(sorted, 50),
      responseP99Ms: percentileOfSorted(sorted, 99),
    };
  },
};

serveRpc(api, null);
