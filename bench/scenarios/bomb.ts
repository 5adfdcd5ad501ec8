// bomb: what a hostile body costs. A "bracket bomb" (4 Mi `[` then 4 Mi `]`, 8 MiB of valid
// JSON nested four million levels deep) is posted to /v1/events of `herald serve` in its own
// process, while the runner asks /healthz every 10 ms. Herald must refuse it (400) without
// building it: the figures are how much Herald's resident set grows and how long /healthz
// waits meanwhile. Each bomb goes to a fresh process, so no run inherits another's heap.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scope } from '../lib/cleanup.js';
import { sleep, wallNow, withTimeout } from '../lib/clock.js';
import { BENCH_API_KEY } from '../lib/herald-api.js';
import { spawnHerald, type HeraldProcess } from '../lib/herald-process.js';
import { metric } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';

const MiB = 2 ** 20;
const BOMB_BYTES = 8 * MiB;
const HEALTH_EVERY_MS = 10;

interface BombRun {
  readonly status: number;
  readonly code: unknown;
  readonly growthMiB: number;
  readonly slowestHealthMs: number;
  readonly healthAnswers: number;
  readonly answerMs: number;
}

/** Posts `body` as one request: with Content-Length, or chunked in 64 KiB writes. */
function post(
  url: string,
  body: Buffer,
  chunked: boolean,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/v1/events', url),
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${BENCH_API_KEY}`,
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': String(body.length) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    if (!chunked) {
      req.end(body);
      return;
    }
    for (let at = 0; at < body.length; at += 64 * 1024)
      req.write(body.subarray(at, at + 64 * 1024));
    req.end();
  });
}

/** Asks /healthz every 10 ms until `stop` resolves; the slowest answer and how many came. */
async function probeHealth(
  url: string,
  stop: Promise<unknown>,
): Promise<{ slowestMs: number; answers: number }> {
  let done = false;
  void stop.finally(() => (done = true));
  let slowestMs = 0;
  let answers = 0;
  while (!done) {
    const started = wallNow();
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    slowestMs = Math.max(slowestMs, wallNow() - started);
    answers++;
    await sleep(HEALTH_EVERY_MS);
  }
  return { slowestMs, answers };
}

/** Resets the process's peak RSS (VmHWM) to its current RSS: Linux `clear_refs` 5. */
function resetPeak(herald: HeraldProcess): void {
  try {
    writeFileSync(`/proc/${herald.pid}/clear_refs`, '5');
  } catch {
    // Not Linux: the growth is then measured from the peak since start.
  }
}

async function bombOnce(dataDir: string, body: Buffer, chunked: boolean): Promise<BombRun> {
  const scope = new Scope('bomb run');
  try {
    const herald = scope.add(
      'herald serve',
      await spawnHerald(
        'herald serve',
        ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir],
        { HERALD_API_KEY: BENCH_API_KEY, HERALD_LOG_LEVEL: 'warn' },
      ),
    );
    // Warm the paths the bomb takes (auth, routing, a publish) so their first use is not counted.
    for (let i = 0; i < 20; i++) {
      await herald.api.call('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: `w${i}` });
      await (await fetch(`${herald.url}/healthz`)).arrayBuffer();
    }
    await sleep(200);
    const before = herald.rssBytes() ?? NaN;
    resetPeak(herald);
    const started = wallNow();
    const answer = post(herald.url, body, chunked);
    const health = probeHealth(
      herald.url,
      answer.catch(() => undefined),
    );
    const { status, text } = await withTimeout(answer, 120_000, 'the bomb to be answered');
    const answerMs = wallNow() - started;
    const { slowestMs, answers } = await health;
    const peak = herald.peakRssBytes() ?? NaN;
    let code: unknown;
    try {
      code = (JSON.parse(text) as { code?: unknown }).code;
    } catch {
      code = text.slice(0, 200);
    }
    return {
      status,
      code,
      growthMiB: (peak - before) / MiB,
      slowestHealthMs: slowestMs,
      healthAnswers: answers,
      answerMs,
    };
  } finally {
    await scope.close();
  }
}

export const bomb: Scenario = {
  name: 'bomb',
  title: 'Bracket bomb: an 8 MiB body nested 4 million deep, refused at what cost',
  timeoutMs: (o) => o.runs * 2 * 150_000 + 30_000,

  async run({ options, scope, log }) {
    const dataRoot = mkdtempSync(join(tmpdir(), 'herald-bench-bomb-'));
    scope.defer('bomb data dirs', () => rmSync(dataRoot, { recursive: true, force: true }));
    const half = BOMB_BYTES / 2;
    const body = Buffer.concat([Buffer.alloc(half, '['), Buffer.alloc(half, ']')]);
    const growth: number[] = [];
    const slowest: number[] = [];
    const details: Record<string, unknown[]> = {
      declaredStatus: [],
      declaredCode: [],
      declaredAnswerMs: [],
      declaredHealthAnswers: [],
      chunkedStatus: [],
      chunkedCode: [],
      chunkedGrowthMiB: [],
      chunkedSlowestHealthMs: [],
      chunkedAnswerMs: [],
    };
    for (let run = 0; run < options.runs; run++) {
      const declared = await bombOnce(join(dataRoot, `d${run}`), body, false);
      const chunked = await bombOnce(join(dataRoot, `c${run}`), body, true);
      for (const r of [declared, chunked]) {
        if (r.status !== 400) {
          throw new Error(`the bomb was answered ${r.status} (${String(r.code)}), not 400`);
        }
      }
      growth.push(declared.growthMiB);
      slowest.push(declared.slowestHealthMs);
      details.declaredStatus!.push(declared.status);
      details.declaredCode!.push(declared.code);
      details.declaredAnswerMs!.push(declared.answerMs);
      details.declaredHealthAnswers!.push(declared.healthAnswers);
      details.chunkedStatus!.push(chunked.status);
      details.chunkedCode!.push(chunked.code);
      details.chunkedGrowthMiB!.push(chunked.growthMiB);
      details.chunkedSlowestHealthMs!.push(chunked.slowestHealthMs);
      details.chunkedAnswerMs!.push(chunked.answerMs);
      log(
        `run ${run + 1}: ${String(declared.code)} in ${Math.round(declared.answerMs)} ms, RSS +${declared.growthMiB.toFixed(1)} MiB, /healthz at most ${declared.slowestHealthMs.toFixed(1)} ms; chunked: +${chunked.growthMiB.toFixed(1)} MiB, ${chunked.slowestHealthMs.toFixed(1)} ms`,
      );
    }
    return {
      method:
        `Per run, two fresh \`herald serve\` processes (embedded store): after 20 warm-up ` +
        `publishes, an ${BOMB_BYTES / MiB} MiB body of 4 Mi \`[\` then 4 Mi \`]\` is POSTed to ` +
        `/v1/events, once with Content-Length and once chunked (64 KiB writes), while the runner ` +
        `GETs /healthz every ${HEALTH_EVERY_MS} ms until the answer. Growth: Herald's peak RSS ` +
        `(VmHWM, reset with clear_refs just before) minus its RSS before. The figures are the ` +
        `Content-Length bomb's; the chunked one's are in the details. Any answer but 400 fails.`,
      metrics: [
        metric('RSS growth while refusing the bomb', 'MiB', growth, {
          target: { of: 'value', op: '<=', value: 50 },
        }),
        metric('slowest /healthz during the bomb', 'ms', slowest, {
          target: { of: 'value', op: '<=', value: 100 },
        }),
      ],
      details,
    };
  },
};
