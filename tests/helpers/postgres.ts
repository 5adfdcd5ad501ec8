// PostgreSQL for tests: HERALD_TEST_DATABASE_URL (set by .ci/run), one fresh schema per use.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onCi, POSTGRES_NOT_SET, POSTGRES_PROBLEM_ENV } from './real-parts.js';

export const TEST_DATABASE_URL = process.env.HERALD_TEST_DATABASE_URL;
/**
 * Why PostgreSQL cannot be used in this run: not set, or found unreachable by vitest.config.ts
 * (which probes it once per run), or undefined.
 */
export const postgresMissing =
  TEST_DATABASE_URL === undefined || TEST_DATABASE_URL === ''
    ? POSTGRES_NOT_SET
    : process.env[POSTGRES_PROBLEM_ENV] || undefined;
if (onCi && postgresMissing)
  throw new Error(`CI=true and PostgreSQL is required: ${postgresMissing}`);

export interface TestSchema {
  /** A connection string whose search_path is the fresh schema. */
  readonly url: string;
  readonly schema: string;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createTestSchema(): Promise<TestSchema> {
  const schema = `herald_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE SCHEMA ${schema}`));
  const url = new URL(TEST_DATABASE_URL!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: () =>
      admin((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).then(() => undefined),
  };
}
