// The SQL terms of the adapters' status lists (src/store/sql-status.ts): one status is written
// `=`, several `IN (...)` in the domain's order, and the terms the partial indexes of deliveries
// need are the helper's, text for text (SQLite uses a partial index only when the query repeats
// its condition).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DELIVERY_STATUSES } from '../../src/domain/delivery.js';
import {
  CLAIMABLE,
  HOLDABLE,
  LEASED,
  OUTSTANDING,
  RECOVERABLE,
  REDELIVERABLE,
  RELEASABLE,
} from '../../src/domain/transitions.js';
import {
  D_STATUS_IN,
  FINISHED,
  isFinished,
  P_STATUS_IN,
  sqlIn,
  STATUS_IN,
} from '../../src/store/sql-status.js';
import { PARKED } from '../../src/store/sqlite/console-queries.js';

describe('sqlIn', () => {
  it.each([
    ['status', ['pending'], `status = 'pending'`],
    ['d.status', ['delivering'], `d.status = 'delivering'`],
    ['status', ['held', 'failed'], `status IN ('held', 'failed')`],
    [
      'p.status',
      ['pending', 'delivering', 'held'],
      `p.status IN ('pending', 'delivering', 'held')`,
    ],
  ] as const)('writes %s for %j as %s', (column, values, sql) => {
    expect(sqlIn(column, values)).toBe(sql);
  });

  it('doubles the quotes inside a literal', () => {
    expect(sqlIn('status', ["it's"])).toBe(`status = 'it''s'`);
    expect(sqlIn('status', ["a'", "'b"])).toBe(`status IN ('a''', '''b')`);
  });

  it('refuses an empty list and anything that is not a column', () => {
    expect(() => sqlIn('status', [])).toThrow(/no values/);
    for (const column of ['', 'status = 1 OR status', 'd.', '1status', 'a.b.c', 'status;']) {
      expect(() => sqlIn(column, ['pending'])).toThrow(/not a column/);
    }
  });
});

describe('the status terms of the store adapters', () => {
  it('are the lists of domain/transitions.ts', () => {
    expect(STATUS_IN).toEqual({
      claimable: sqlIn('status', CLAIMABLE),
      leased: sqlIn('status', LEASED),
      holdable: sqlIn('status', HOLDABLE),
      releasable: sqlIn('status', RELEASABLE),
      redeliverable: sqlIn('status', REDELIVERABLE),
      recoverable: sqlIn('status', RECOVERABLE),
      outstanding: sqlIn('status', OUTSTANDING),
      finished: sqlIn('status', FINISHED),
    });
    expect(D_STATUS_IN.claimable).toBe(`d.status = 'pending'`);
    expect(D_STATUS_IN.leased).toBe(`d.status = 'delivering'`);
    expect(P_STATUS_IN.outstanding).toBe(`p.status IN ('pending', 'delivering', 'held')`);
    expect(Object.isFrozen(STATUS_IN)).toBe(true);
  });

  it('write the statements as they were written by hand', () => {
    expect(STATUS_IN.claimable).toBe(`status = 'pending'`);
    expect(STATUS_IN.holdable).toBe(`status = 'pending'`);
    expect(STATUS_IN.leased).toBe(`status = 'delivering'`);
    expect(STATUS_IN.releasable).toBe(`status = 'held'`);
    expect(STATUS_IN.recoverable).toBe(`status IN ('held', 'failed')`);
    expect(STATUS_IN.finished).toBe(`status IN ('succeeded', 'failed')`);
  });

  it('take finished to be every status that is not outstanding', () => {
    expect([...FINISHED].sort()).toEqual(
      DELIVERY_STATUSES.filter((s) => !(OUTSTANDING as readonly string[]).includes(s)).sort(),
    );
    expect(DELIVERY_STATUSES.filter(isFinished)).toEqual(['succeeded', 'failed']);
    expect(isFinished('pending')).toBe(false);
    expect(isFinished(undefined)).toBe(false);
  });

  it('repeat the condition of every partial index of deliveries, text for text', () => {
    const migrations = fileURLToPath(new URL('../../src/store/', import.meta.url));
    const terms = new Set(Object.values(STATUS_IN));
    for (const adapter of ['sqlite', 'postgres']) {
      const dir = join(migrations, adapter, 'migrations');
      const sql = readdirSync(dir)
        .filter((f) => f.endsWith('.sql'))
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n');
      const conditions = [
        ...sql.matchAll(/CREATE (?:UNIQUE )?INDEX \w+ ON deliveries [^;]*?\bWHERE\s+([^;]+);/g),
      ]
        .map((m) => m[1]!.trim())
        .filter((c) => /\bstatus\b/.test(c));
      expect(conditions.length, adapter).toBeGreaterThanOrEqual(4);
      for (const condition of conditions)
        expect(terms, `${adapter}: ${condition}`).toContain(condition);
    }
    // The SQLite queries for one parked status add the parked indexes' condition.
    expect(PARKED).toBe(STATUS_IN.recoverable);
  });
});
