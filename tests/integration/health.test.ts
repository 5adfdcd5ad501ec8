// /healthz tells anyone only that the process runs and its version; /readyz tells whether the
// store answers, on every role that serves HTTP (the API's and the worker's).

import { afterEach, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

describe('health and readiness', () => {
  const started: TestHerald[] = [];
  afterEach(async () => {
    for (const h of started.splice(0)) await h.close();
  });

  for (const role of ['all', 'worker'] as const) {
    it(`role ${role}: /healthz is status and version only; /readyz follows the store`, async () => {
      const herald = await startTestHerald({ HERALD_ROLE: role });
      started.push(herald);

      const health = await fetch(`${herald.url}/healthz`);
      expect(health.status).toBe(200);
      const text = await health.text();
      expect(JSON.parse(text)).toEqual({ status: 'ok', version: VERSION });
      expect(text).not.toContain(herald.dataDir);

      const ready = await fetch(`${herald.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', version: VERSION });

      // The store stops answering: not ready, with a problem document and when to ask again.
      await herald.store.close();
      const down = await fetch(`${herald.url}/readyz`);
      expect(down.status).toBe(503);
      expect(down.headers.get('content-type')).toBe('application/problem+json');
      expect(down.headers.get('retry-after')).toBe('2');
      const problem = (await down.json()) as { code: string; detail: string };
      expect(problem.code).toBe('store_unavailable');
      expect(JSON.stringify(problem)).not.toContain(herald.dataDir);
      // Liveness is not readiness: the process still runs.
      expect((await fetch(`${herald.url}/healthz`)).status).toBe(200);
    });
  }
});
