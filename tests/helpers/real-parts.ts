// The real parts some suites need besides Node: headless Chromium and a PostgreSQL server. On CI
// (CI=true) a missing part fails the run with a message that names it, so CI cannot go green with
// suites quietly skipped; on a developer's machine without it, those suites are skipped and the
// run says which and why. Used by vitest.config.ts (once per run) and by the test helpers.
// No vitest import here: the config loads this file outside the test runner.

import { accessSync, constants } from 'node:fs';
import pg from 'pg';

/** CI=true (or 1, yes): every real part is required. */
export const onCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');

export const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser suites cannot run, or undefined when Chromium is there. */
export function chromiumProblem(path = CHROMIUM): string | undefined {
  try {
    accessSync(path, constants.X_OK);
    return undefined;
  } catch {
    return `Chromium not found at ${path} (HERALD_CHROMIUM overrides the path): install it with \`apt-get install -y chromium\` (.ci/run does)`;
  }
}

/** The URL with its password hidden, for messages. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

export const POSTGRES_NOT_SET =
  'HERALD_TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test); .ci/run sets it';

/**
 * Why the PostgreSQL suites cannot run, or undefined once a connection to
 * HERALD_TEST_DATABASE_URL answered a query.
 */
export async function postgresProblem(
  url = process.env.HERALD_TEST_DATABASE_URL,
): Promise<string | undefined> {
  if (url === undefined || url === '') return POSTGRES_NOT_SET;
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  } catch (error) {
    return `HERALD_TEST_DATABASE_URL (${shown(url)}) is not a usable connection string: ${(error as Error).message}`;
  }
  client.on('error', () => undefined); // a connection lost after the probe is of no interest
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    const reason = (error as Error).message || String((error as { code?: unknown }).code ?? error);
    return `PostgreSQL at HERALD_TEST_DATABASE_URL (${shown(url)}) cannot be reached: ${reason}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Set by vitest.config.ts for the test workers: why PostgreSQL is unusable in this run. */
export const POSTGRES_PROBLEM_ENV = 'HERALD_TEST_POSTGRES_PROBLEM';
