// The files Herald keeps in its data dir besides the store's own: who holds it (herald.pid),
// where the server answers (herald.url), the generated API key and master key. All are the
// user's alone: the dir 0700, every file 0600, set again on each start.

import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/settings.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/port.js';

/** The file in the data dir where a local CLI finds the running server (see announceUrl). */
export const URL_FILE = 'herald.url';

/** Files Herald keeps in the data dir besides the store's own (store/sqlite/private-files.ts). */
const DATA_DIR_FILES = ['api-key', 'master.key', 'herald.pid'];

export function writePrivate(path: string, content: string): void {
  mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * An existing data dir is its user's alone (0700), and the files of an earlier run 0600 again
 * (someone may have copied or loosened them). A directory Herald does not own is left as it is.
 */
export function keepDataDirPrivate(dir: string, logger: Logger): void {
  if (!existsSync(dir)) return;
  try {
    chmodSync(dir, 0o700);
    for (const name of DATA_DIR_FILES) {
      if (existsSync(join(dir, name))) chmodSync(join(dir, name), 0o600);
    }
  } catch (error) {
    logger.warn({ err: error, dataDir: dir }, 'could not make the data dir private (mode 0700)');
  }
}

/** Whether this process holds the data dir: the embedded store in a file is one process's. */
export function holdsDataDir(config: Config, store: Store): boolean {
  return store.capabilities.singleProcess && config.databaseUrl !== ':memory:';
}

/** One embedded store, one process: refuse to start a second Herald on the same data dir. */
export function lockDataDir(config: Config, store: Store): () => void {
  if (!holdsDataDir(config, store)) return () => {};
  const file = join(config.dataDir, 'herald.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    let alive = false;
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (alive) {
      throw new ConfigError(
        `Another Herald (pid ${pid}) is using ${config.dataDir}; stop it first or use another --data-dir`,
      );
    }
  }
  writePrivate(file, `${process.pid}\n`);
  return () => rmSync(file, { force: true });
}

/**
 * Writes where this server answers into the data dir it holds (mode 0600), so that `herald
 * endpoints list` and the other client commands find it from the data dir alone, as they find
 * its generated API key. Returns the function that removes it again.
 */
export function announceUrl(dataDir: string, host: string, port: number): () => void {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  const file = join(dataDir, URL_FILE);
  writePrivate(file, `${url}\n`);
  return () => rmSync(file, { force: true });
}

/** Where the API key generated on first start is kept. */
export function apiKeyFile(dataDir: string): string {
  return join(dataDir, 'api-key');
}
