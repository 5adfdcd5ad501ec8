// Starts a real Herald (SQLite file in a temp dir, HTTP on a loopback port) for a test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startHerald, type RunningHerald, type StartOptions } from '../../src/main.js';
import { silentLogger } from '../../src/observability/logger.js';
import { generateMasterKey } from '../../src/services/secret-box.js';
import { createTestSchema } from './postgres.js';

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestHerald extends RunningHerald {
  readonly dataDir: string;
  /** The PostgreSQL schema's connection string in the `postgres` project (else the data dir's SQLite file). */
  readonly databaseUrl: string | undefined;
  /** Calls the API with the default account's key (or `key`). Body objects are sent as JSON. */
  api(
    method: string,
    path: string,
    body?: unknown,
    options?: { key?: string | null; headers?: Record<string, string> },
  ): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
  readonly text: string;
}

export async function startTestHerald(
  env: Record<string, string> = {},
  options: StartOptions & { dataDir?: string } = {},
): Promise<TestHerald> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'herald-test-'));
  // The `postgres` test project runs the same suites on PostgreSQL, each Herald in its own schema.
  const schema =
    process.env.HERALD_TEST_STORE === 'postgres' ? await createTestSchema() : undefined;
  const config = loadConfig({
    ...(schema
      ? {
          HERALD_DATABASE_URL: schema.url,
          HERALD_MASTER_KEY: generateMasterKey(),
          HERALD_DATABASE_POOL: '4',
        }
      : {}),
    HERALD_PORT: '0',
    HERALD_DATA_DIR: dataDir,
    HERALD_API_KEY: TEST_API_KEY,
    HERALD_ADMIN_KEY: TEST_ADMIN_KEY,
    HERALD_ALLOW_PRIVATE_NETWORK: '1',
    HERALD_SQLITE_SYNCHRONOUS: 'normal',
    HERALD_POLL_INTERVAL: '200ms',
    HERALD_SHUTDOWN_TIMEOUT: '2s',
    ...env,
  });
  const herald = await startHerald(config, { logger: silentLogger(), print: () => {}, ...options });
  return {
    ...herald,
    dataDir,
    databaseUrl: schema?.url,
    async api(method, path, body, opts = {}) {
      const key = opts.key === undefined ? TEST_API_KEY : opts.key;
      const response = await fetch(`${herald.url}${path}`, {
        method,
        headers: {
          ...(key === null ? {} : { authorization: `Bearer ${key}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async close() {
      await herald.stop();
      await schema?.drop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value that is not undefined (or throws after `timeoutMs`). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
