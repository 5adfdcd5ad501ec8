// Which store failures are outages (503 store_unavailable) and which are bugs (500), decided on
// real errors from better-sqlite3 and from a real socket.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isStoreUnavailable } from '../../src/domain/store-unavailable.js';

const dir = mkdtempSync(join(tmpdir(), 'herald-unavailable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('isStoreUnavailable', () => {
  it('treats a read-only or locked SQLite database as unavailable', () => {
    const path = join(dir, 'a.db');
    const writer = new Database(path);
    writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    const reader = new Database(path, { readonly: true });
    const readOnly = errorOf(() => reader.exec('INSERT INTO t VALUES (1)'));
    expect((readOnly as { code: string }).code).toMatch(/^SQLITE_READONLY/);
    expect(isStoreUnavailable(readOnly)).toBe(true);

    const other = new Database(path, { timeout: 0 });
    writer.exec('BEGIN IMMEDIATE');
    const busy = errorOf(() => other.exec('BEGIN IMMEDIATE'));
    expect((busy as { code: string }).code).toMatch(/^SQLITE_BUSY/);
    expect(isStoreUnavailable(busy)).toBe(true);
    writer.exec('ROLLBACK');
    for (const db of [writer, reader, other]) db.close();
  });

  it('treats constraint violations and SQL mistakes as bugs, not outages', () => {
    const db = new Database(join(dir, 'b.db'));
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    db.exec('INSERT INTO t VALUES (1)');
    expect(isStoreUnavailable(errorOf(() => db.exec('INSERT INTO t VALUES (1)')))).toBe(false);
    expect(isStoreUnavailable(errorOf(() => db.exec('SELEC 1')))).toBe(false);
    expect(isStoreUnavailable(new Error('x is undefined'))).toBe(false);
    expect(isStoreUnavailable(undefined)).toBe(false);
    db.close();
  });

  it('treats a refused connection to the database server as unavailable', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres' });
    const refused = await client.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreUnavailable(refused)).toBe(true);
  });

  it('recognises PostgreSQL SQLSTATEs of outages but not of mistakes', () => {
    const withCode = (code: string) => Object.assign(new Error('server says'), { code });
    for (const code of ['08006', '53300', '57P01', '57P03', '40001', '40P01']) {
      expect(isStoreUnavailable(withCode(code)), code).toBe(true);
    }
    for (const code of ['42601', '23505', '22P02']) {
      expect(isStoreUnavailable(withCode(code)), code).toBe(false);
    }
    // Wrapped by whoever caught it first.
    expect(isStoreUnavailable(new Error('outer', { cause: withCode('08006') }))).toBe(true);
  });
});
