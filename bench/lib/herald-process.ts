// `herald serve` as its own process (the built bin/herald.js), for the scenarios that need what
// in-process cannot give: Herald's own RSS (backlog) and several processes on one store
// (PostgreSQL). Output is drained (a full pipe would stall the server) and its tail kept for
// error messages.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sleep, withTimeout } from './clock.js';
import { trackPid, untrackPid, type Closable } from './cleanup.js';
import { HeraldApi } from './herald-api.js';

const HERALD_BIN = fileURLToPath(new URL('../../../bin/herald.js', import.meta.url));

export interface HeraldProcess extends Closable {
  readonly label: string;
  readonly url: string;
  readonly pid: number;
  readonly api: HeraldApi;
  /** Resident set size now (VmRSS), bytes; null where /proc is not available. */
  rssBytes(): number | null;
  /** Peak resident set size since start (VmHWM), bytes. */
  peakRssBytes(): number | null;
}

function procStatus(pid: number, field: string): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The caller's environment without HERALD_* settings, so only what the scenario sets applies. */
function cleanEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('HERALD_')) out[name] = value;
  }
  return out;
}

/**
 * Node flags for every Herald process a scenario starts, from HERALD_BENCH_NODE_ARGS (split on
 * spaces), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile Herald alone (Node refuses
 * --cpu-prof in NODE_OPTIONS, which would also profile the runner, listener and publishers).
 */
function heraldNodeArgs(): string[] {
  return (process.env.HERALD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

export async function spawnHerald(
  label: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<HeraldProcess> {
  const child = spawn(process.execPath, [...heraldNodeArgs(), HERALD_BIN, 'serve', ...args], {
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid ?? -1;
  trackPid(pid);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      untrackPid(pid);
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    await Promise.race([exit, sleep(15_000)]);
    if (!exited) {
      child.kill('SIGKILL');
      await Promise.race([exit, sleep(3000)]);
    }
  };
  try {
    const url = await withTimeout(
      new Promise<string>((resolve, reject) => {
        child.stdout.on('data', () => {
          const match = /listening on (http:\/\/\S+)/.exec(output);
          if (match) resolve(match[1]!);
        });
        void exit.then(() => reject(new Error(`${label} exited while starting:\n${output}`)));
      }),
      timeoutMs,
      `${label} to start`,
    );
    return {
      label,
      url,
      pid,
      api: new HeraldApi(url),
      rssBytes: () => procStatus(pid, 'VmRSS'),
      peakRssBytes: () => procStatus(pid, 'VmHWM'),
      close: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
