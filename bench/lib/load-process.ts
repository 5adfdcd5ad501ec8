// A load generator in its own process, so the client's CPU is not charged to Herald's event loop
// (on two cores it still competes for the machine, as any client would). Closed loop for
// throughput (N requests always in flight) and open loop for latency (a fixed rate, whatever the
// server does, so slow answers cannot slow the offered load down). Started by load.ts.

import { Pool } from 'undici';
import { wallNow } from './clock.js';
import type { ClosedLoopResult, LoadApi, OpenLoopResult } from './load-protocol.js';
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

const api: LoadApi = {
  async closedLoop(spec): Promise<ClosedLoopResult> {
    const pool = newPool(spec.origin, spec.connections);
    const start = wallNow();
    const windowStart = start + spec.warmupMs;
    const windowEnd = windowStart + spec.durationMs;
    const statuses: Record<string, number> = {};
    const latencies: number[] = [];
    let completed = 0;
    let failed = 0;
    let firstError: string | null = null;
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
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if (res.statusCode === spec.expectStatus) {
            completed++;
            latencies.push(doneAt - sentAt);
          } else {
            failed++;
            firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
          }
        } catch (error) {
          failed++;
          firstError ??= String(error);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: spec.inflight }, loop));
    } finally {
      await pool.close();
    }
    const sorted = sortedCopy(latencies);
    return {
      completed,
      failed,
      statuses,
      measuredMs: spec.durationMs,
      latencyP50Ms: percentileOfSorted(sorted, 50),
      latencyP99Ms: percentileOfSorted(sorted, 99),
      firstError,
    };
  },

  async openLoop(spec): Promise<OpenLoopResult> {
    const pool = newPool(spec.origin, spec.connections);
    const total = Math.round((spec.ratePerSecond * spec.durationMs) / 1000);
    const statuses: Record<string, number> = {};
    const responseTimes: number[] = [];
    const requests: Promise<void>[] = [];
    let completed = 0;
    let failed = 0;
    let maxLagMs = 0;
    let firstError: string | null = null;
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
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode === spec.expectStatus) {
              completed++;
              responseTimes.push(wallNow() - sentAt);
            } else {
              failed++;
              firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 300)}`;
            }
          })
          .catch((error: unknown) => {
            failed++;
            firstError ??= String(error);
          }),
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
      failed,
      statuses,
      startedAt,
      firstError,
      responseP50Ms: percentileOfSorted(sorted, 50),
      responseP99Ms: percentileOfSorted(sorted, 99),
      maxLagMs,
    };
  },
};

serveRpc(api, null);
