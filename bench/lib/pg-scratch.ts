// A throwaway PostgreSQL database per run, so a benchmark never reads or pollutes the database
// its URL names (often the test suite's). Uses the `pg` driver the PostgreSQL adapter brings,
// loaded at run time: the bench compiles and the other scenarios run before that adapter lands.

import type { Closable } from './cleanup.js';

interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}
type PgClientClass = new (options: { connectionString: string }) => PgClient;

async function loadClient(): Promise<PgClientClass> {
  const name = 'pg';
  const mod = (await import(name)) as {
    default?: { Client?: PgClientClass };
    Client?: PgClientClass;
  };
  const Client = mod.Client ?? mod.default?.Client;
  if (!Client) throw new Error('the pg module has no Client');
  return Client;
}

async function admin(url: string, sql: string): Promise<void> {
  const Client = await loadClient();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase extends Closable {
  readonly url: string;
}

/**
 * Creates `herald_bench_<pid>_<n>` next to the database `url` names; close() drops it. `n` is a
 * number or lower-case letters, digits and underscores, distinct per scratch database of a run.
 */
export async function createScratchDatabase(
  url: string,
  n: number | string,
): Promise<ScratchDatabase> {
  if (!/^[a-z0-9_]+$/.test(String(n))) throw new Error(`bad scratch database suffix ${String(n)}`);
  const name = `herald_bench_${process.pid}_${n}`;
  await admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(url, `CREATE DATABASE ${name}`);
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return {
    url: scratch.href,
    close: () => admin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Gathers the planner's statistics, as autovacuum would after a bulk load. */
export function analyzeDatabase(url: string): Promise<void> {
  return admin(url, 'ANALYZE');
}
