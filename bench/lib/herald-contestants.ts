// Herald as the sustained runs start it: the built `herald serve`, each run on a fresh store, with
// one Basic endpoint (maxConcurrency 256) on the listener. SQLite in one process, or PostgreSQL
// (a scratch database per run) with one `--role all` process and more `--role worker` ones.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scope } from './cleanup.js';
import { sqliteSynchronous } from './herald.js';
import { BENCH_API_KEY } from './herald-api.js';
import { spawnHerald } from './herald-process.js';
import { createScratchDatabase } from './pg-scratch.js';
import type { Contestant } from './sustained.js';

export const HERALD_MAX_CONCURRENCY = 256;

function dataDir(scope: Scope): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-sustained-'));
  scope.defer('data dir', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const serveArgs = (dir: string): string[] => [
  '--port',
  '0',
  '--host',
  '127.0.0.1',
  '--data-dir',
  dir,
  '--allow-private-network',
];

/** `herald serve` on a fresh embedded SQLite store. */
export function heraldSqlite(): Contestant {
  return {
    name: 'Herald',
    async start(scope, target) {
      const herald = scope.add(
        'herald serve',
        await spawnHerald('herald serve', serveArgs(dataDir(scope)), {
          HERALD_API_KEY: BENCH_API_KEY,
          HERALD_SQLITE_SYNCHRONOUS: sqliteSynchronous(),
          HERALD_LOG_LEVEL: 'warn',
        }),
      );
      await herald.api.createBasicEndpoint(target, { maxConcurrency: HERALD_MAX_CONCURRENCY });
      // The store is a thread of this process, so its CPU time is in the process's.
      return { url: herald.url, apiKey: BENCH_API_KEY, pids: [herald.pid] };
    },
  };
}

/**
 * `herald serve --role all` plus `workers - 1` processes `--role worker`, on a scratch database
 * created next to the one `databaseUrl` names (dropped when `scope` closes).
 */
export function heraldPostgres(
  databaseUrl: string,
  workers: number,
  masterKey: string,
): Contestant {
  let runs = 0;
  return {
    name: 'Herald',
    async start(scope, target) {
      const db = scope.add(
        'scratch database',
        await createScratchDatabase(databaseUrl, `sustained_${workers}w_${runs++}`),
      );
      const dir = dataDir(scope);
      const env = {
        HERALD_API_KEY: BENCH_API_KEY,
        HERALD_MASTER_KEY: masterKey,
        HERALD_LOG_LEVEL: 'warn',
      };
      const args = (role: string) => ['--database', db.url, '--role', role, ...serveArgs(dir)];
      const primary = scope.add(
        'herald --role all',
        await spawnHerald('herald --role all', args('all'), env),
      );
      // Herald's processes only: the PostgreSQL server's backends are not counted.
      const pids = [primary.pid];
      for (let w = 1; w < workers; w++) {
        const label = `herald --role worker ${w}`;
        pids.push(scope.add(label, await spawnHerald(label, args('worker'), env)).pid);
      }
      await primary.api.createBasicEndpoint(target, { maxConcurrency: HERALD_MAX_CONCURRENCY });
      return { url: primary.url, apiKey: BENCH_API_KEY, pids };
    },
  };
}
