// Every file Herald keeps is readable by its user only (0600), in a data dir only its user can
// enter (0700): on first start, and again after a restart on a dir whose modes were loosened.

import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

const mode = (path: string) => statSync(path).mode & 0o777;

/** The data dir's mode and every file's in it, by name, after checking them: 0700 and 0600. */
function privateModes(dir: string): Record<string, number> {
  const found: Record<string, number> = { '.': mode(dir) };
  for (const name of readdirSync(dir)) found[name] = mode(join(dir, name));
  expect(found).toEqual(
    Object.fromEntries(Object.keys(found).map((n) => [n, n === '.' ? 0o700 : 0o600])),
  );
  return found;
}

describe.skipIf(process.env.HERALD_TEST_STORE === 'postgres')('data file modes', () => {
  const parent = mkdtempSync(join(tmpdir(), 'herald-modes-'));
  const dataDir = join(parent, 'data');
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  /** Herald with a generated API key and master key, after a publish has written the WAL. */
  async function run(): Promise<TestHerald> {
    const herald = await startTestHerald({ HERALD_API_KEY: '' }, { dataDir });
    const key = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
    const published = await herald.api(
      'POST',
      '/v1/events',
      { name: 'PACKAGE_CREATE', packageId: 'modes' },
      { key },
    );
    expect(published.status).toBe(202);
    return herald;
  }

  it('creates the data dir 0700 and every file in it 0600', async () => {
    const herald = await run();
    try {
      const found = privateModes(dataDir);
      for (const name of [
        'herald.db',
        'herald.db-wal',
        'herald.db-shm',
        'herald.pid',
        'api-key',
        'master.key',
      ]) {
        expect(found, name).toHaveProperty(name);
      }
    } finally {
      await herald.close();
    }
  });

  it('makes them so again on a restart after someone loosened them', async () => {
    chmodSync(dataDir, 0o755);
    for (const name of readdirSync(dataDir)) chmodSync(join(dataDir, name), 0o644);
    const herald = await run();
    try {
      expect(privateModes(dataDir)).toHaveProperty('herald.db-wal');
    } finally {
      await herald.close();
    }
  });
});
