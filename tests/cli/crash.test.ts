// kill -9 while thousands of deliveries are in flight, restart on the same data dir:
// every event is delivered (duplicates allowed, and counted).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startListener } from '../helpers/listener.js';
import { startServer } from '../helpers/process.js';

const KEY = 'crash-test-key-0123456789';
const EVENTS = 4000;

describe('crash safety', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-crash-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it(`delivers all ${EVENTS} events across a kill -9 and a restart`, async () => {
    const listener = await startListener(() => ({ status: 200, delayMs: 5 }));
    const env = { HERALD_API_KEY: KEY, HERALD_LOG_LEVEL: 'warn' };
    const args = ['--port', '0', '--data-dir', dataDir, '--allow-private-network'];
    try {
      let server = await startServer(args, env);
      const call = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}` },
          body: JSON.stringify(body),
        });
      const reg = await call('/api/callback', {
        url: listener.url,
        key: 'ck-123456',
        events: ['DOCUMENT_SIGNED'],
      });
      expect(reg.status).toBe(200);
      const published = new Set<string>();
      for (let b = 0; b < EVENTS / 1000; b++) {
        const batch = Array.from({ length: 1000 }, (_, i) => ({
          name: 'DOCUMENT_SIGNED',
          packageId: `pkg-${b}-${i}`,
          documentId: 'doc',
        }));
        const res = await call('/v1/events', batch);
        expect(res.status).toBe(202);
        for (const id of ((await res.json()) as { ids: string[] }).ids) published.add(id);
      }
      await listener.waitFor(300);
      await server.kill9();
      const beforeRestart = new Set(listener.received.map((r) => String(r.headers['webhook-id'])))
        .size;
      expect(beforeRestart).toBeLessThan(EVENTS);

      server = await startServer(args, env);
      const deadline = Date.now() + 60_000;
      let unique = 0;
      while (Date.now() < deadline) {
        unique = new Set(listener.received.map((r) => String(r.headers['webhook-id']))).size;
        if (unique >= EVENTS) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ids = new Set(listener.received.map((r) => String(r.headers['webhook-id'])));
      const missing = [...published].filter((id) => !ids.has(id));
      const duplicates = listener.received.length - ids.size;
      console.log(
        `crash test: ${EVENTS} events, ${beforeRestart} delivered before kill -9, ${duplicates} duplicates after restart`,
      );
      expect(missing).toEqual([]);
      expect(await server.stop()).toBe(0);
    } finally {
      await listener.close();
    }
  }, 120_000);
});
