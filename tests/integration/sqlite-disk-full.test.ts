// The embedded store's disk refusing writes: Herald's data dir on a small tmpfs that the test
// fills to the last byte. Publishes are answered 503 store_unavailable (never 500), nothing
// answered 202 is lost, and once space is freed publishing and delivery resume, without a
// restart. Needs a tmpfs mount (root); skipped with a message where the sandbox cannot mount.

import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'herald-full-'));
function mountSmallDisk(): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mountPoint], {
      stdio: 'pipe',
    });
    return undefined;
  } catch (error) {
    rmSync(mountPoint, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`;
  }
}
const cannotMount = process.env.HERALD_TEST_STORE === 'postgres' ? 'SQLite only' : mountSmallDisk();
if (cannotMount) console.warn(`sqlite-disk-full: skipped: ${cannotMount}`);

describe.skipIf(cannotMount !== undefined)('the embedded store on a full disk', () => {
  let herald: TestHerald;
  let listener: Listener;
  const filler = join(mountPoint, 'filler');
  const received = new Set<string>();
  const accepted = new Set<string>();

  beforeAll(async () => {
    listener = await startListener((request) => {
      received.add((JSON.parse(request.body) as { packageId: string }).packageId);
      return { status: 200 };
    });
    herald = await startTestHerald(
      // A result write refused while the disk is full is given up after its retries; its lease
      // running out sends the delivery again. A short lease keeps that within the test.
      { HERALD_SQLITE_SYNCHRONOUS: 'full', HERALD_LEASE: '4s' },
      { dataDir: join(mountPoint, 'data') },
    );
    const created = await herald.api('POST', '/v1/endpoints', {
      url: `${listener.url}/hook`,
      events: ['PACKAGE_COMPLETE'],
    });
    expect(created.status, created.text).toBe(201);
  });
  afterAll(async () => {
    await herald?.close();
    await listener?.close();
    try {
      execFileSync('umount', [mountPoint], { stdio: 'pipe' });
    } finally {
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  let n = 0;
  async function publishBatch(): Promise<number> {
    const ids = Array.from({ length: 20 }, () => `full-${++n}`);
    const answer = await herald.api(
      'POST',
      '/v1/events',
      ids.map((packageId) => ({ name: 'PACKAGE_COMPLETE', packageId, message: 'x'.repeat(2000) })),
    );
    if (answer.status === 202) for (const id of ids) accepted.add(id);
    else {
      expect(answer.status, answer.text).toBe(503);
      expect(answer.body.code).toBe('store_unavailable');
      expect(answer.headers.get('retry-after')).toBe('2');
    }
    return answer.status;
  }

  function fillDisk(): void {
    const fd = openSync(filler, 'w');
    const chunk = Buffer.alloc(16 * 1024, 1);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      expect((error as { code: string }).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }
  }

  it('answers 503 while writes fail, loses nothing accepted, and resumes when space returns', async () => {
    expect(await publishBatch()).toBe(202);
    await eventually(() => ([...accepted].every((id) => received.has(id)) ? true : undefined));

    fillDisk();
    let refused = 0;
    for (let tries = 0; tries < 200 && refused < 3; tries++) {
      if ((await publishBatch()) === 503) refused++;
    }
    expect(refused).toBe(3);

    rmSync(filler);
    await eventually(async () => ((await publishBatch()) === 202 ? true : undefined), 20_000);
    await eventually(
      () => ([...accepted].every((id) => received.has(id)) ? true : undefined),
      30_000,
      'every accepted event to be delivered',
    );
    // Everything answered 202 is in the store, delivered. The listener can see a delivery before
    // its result is written (results are written in batches after the answer), so count until
    // the store has caught up.
    const countSucceeded = async (): Promise<number> => {
      let succeeded = 0;
      for (let cursor = ''; ;) {
        const page = await herald.api('GET', `/v1/deliveries?status=succeeded&limit=100${cursor}`);
        expect(page.status, page.text).toBe(200);
        succeeded += page.body.data.length;
        if (!page.body.next) return succeeded;
        cursor = `&cursor=${page.body.next}`;
      }
    };
    const succeeded = await eventually(
      async () => {
        const count = await countSucceeded();
        return count >= accepted.size ? count : undefined;
      },
      30_000,
      'every accepted event to be recorded as succeeded',
    );
    expect(succeeded).toBe(accepted.size);
    expect((await fetch(`${herald.url}/readyz`)).status).toBe(200);
  }, 120_000);
});
