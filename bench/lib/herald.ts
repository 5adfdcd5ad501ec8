// Herald in the runner's own process, on a fresh SQLite store in a temp dir: the process whose
// sending the raw baseline measures. Configured like `herald serve` with its defaults except
// what a benchmark on loopback needs (SSRF guard lifted, known API key, no logs).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startHerald, type RunningHerald } from '../../src/main.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Closable } from './cleanup.js';
import { BENCH_API_KEY, HeraldApi } from './herald-api.js';

/** `full` (Herald's default: durable across power loss) unless the caller's environment says. */
export function sqliteSynchronous(): string {
  return process.env.HERALD_SQLITE_SYNCHRONOUS ?? 'full';
}

/** `on` (Herald's default: the store on its own thread) unless the caller's environment says. */
export function sqliteThread(): string {
  return process.env.HERALD_SQLITE_THREAD ?? 'on';
}

export interface InProcessHerald extends Closable {
  readonly api: HeraldApi;
  readonly running: RunningHerald;
  readonly dataDir: string;
}

/** `dataDir`: a data dir the caller made (and removes); otherwise a fresh one, removed at close. */
export async function startInProcessHerald(
  env: Record<string, string> = {},
  given?: { dataDir: string },
): Promise<InProcessHerald> {
  const dataDir = given?.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const remove = () => {
    if (!given) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const config = loadConfig({
      HERALD_PORT: '0',
      HERALD_HOST: '127.0.0.1',
      HERALD_DATA_DIR: dataDir,
      HERALD_API_KEY: BENCH_API_KEY,
      HERALD_ALLOW_PRIVATE_NETWORK: '1',
      HERALD_SQLITE_SYNCHRONOUS: sqliteSynchronous(),
      HERALD_SQLITE_THREAD: sqliteThread(),
      HERALD_LOG_LEVEL: 'silent',
      HERALD_SHUTDOWN_TIMEOUT: '2s',
      ...env,
    });
    const running = await startHerald(config, { logger: silentLogger(), print: () => {} });
    return {
      api: new HeraldApi(running.url),
      running,
      dataDir,
      async close() {
        try {
          await running.stop();
        } finally {
          remove();
        }
      },
    };
  } catch (error) {
    remove();
    throw error;
  }
}
