// The retry behaviour of SPEC 5, against a real listener, with a short schedule.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';

describe('retries (HERALD_RETRY_SCHEDULE=0s,300ms,300ms,300ms)', () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '0s,300ms,300ms,300ms' });
  });
  afterAll(() => herald.close());

  async function endpointFor(listener: Listener, events = ['PACKAGE_COMPLETE']): Promise<string> {
    const res = await herald.api('POST', '/v1/endpoints', {
      url: listener.url,
      events,
      auth: { type: 'BASIC', key: 'k-123456' },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  async function deliveryOf(endpointId: string, status?: string): Promise<Record<string, any>> {
    return eventually(
      async () => {
        const res = await herald.api(
          'GET',
          `/v1/deliveries?endpoint=${endpointId}${status ? `&status=${status}` : ''}`,
        );
        return res.body.data[0];
      },
      15_000,
      `a ${status ?? ''} delivery of ${endpointId}`,
    );
  }

  it('two 500s then a 200: exactly 3 attempts, then succeeded', async () => {
    const listener = await startListener((_r, i) => ({ status: i < 2 ? 500 : 200 }));
    try {
      const id = await endpointFor(listener);
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'r1' });
      const done = await deliveryOf(id, 'succeeded');
      // Succeeded is final: no further try is scheduled, so what arrived is all that will.
      expect(done.nextAttemptAt).toBeNull();
      expect(listener.received).toHaveLength(3);
      const detail = await herald.api('GET', `/v1/deliveries/${done.id}`);
      expect(detail.body.attemptCount).toBe(3);
      expect(detail.body.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([
        500, 500, 200,
      ]);
      // The same webhook-id on every retry: the listener's idempotency key.
      expect(new Set(listener.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    } finally {
      await listener.close();
    }
  });

  it('a 302: 5 attempts, then failed, listed as failed, with an operational event', async () => {
    const listener = await startListener(() => ({
      status: 302,
      headers: { location: 'http://127.0.0.1:1/elsewhere' },
    }));
    try {
      const id = await endpointFor(listener);
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'r2' });
      const failed = await deliveryOf(id, 'failed');
      expect(failed.attemptCount).toBe(5);
      expect(listener.received).toHaveLength(5);
      expect(failed.lastError).toMatch(/302/);
      const all = await herald.api('GET', '/v1/deliveries?status=failed');
      expect(all.body.data.map((d: { id: string }) => d.id)).toContain(failed.id);
      const ops = await eventually(async () => {
        const res = await herald.api('GET', '/v1/operational-events');
        return res.body.data.find(
          (e: { type: string; deliveryId: string }) =>
            e.type === 'delivery.exhausted' && e.deliveryId === failed.id,
        );
      });
      expect(ops.endpointId).toBe(id);
      // Failing is not the end: a retry sends it again.
      listener.respond(() => ({ status: 200 }));
      expect((await herald.api('POST', `/v1/deliveries/${failed.id}/retry`)).status).toBe(202);
      await deliveryOf(id, 'succeeded');
      expect(listener.received).toHaveLength(6);
    } finally {
      await listener.close();
    }
  });

  it('a 429 with Retry-After: 2 waits at least 2 s before the next try', async () => {
    const listener = await startListener((_r, i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    try {
      const id = await endpointFor(listener);
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'r3' });
      const [first, second] = await listener.waitFor(2, 10_000);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(2000);
      await deliveryOf(id, 'succeeded');
    } finally {
      await listener.close();
    }
  });

  it('a 410 disables the endpoint: it receives nothing more, and its events wait as held', async () => {
    const listener = await startListener(() => ({ status: 410 }));
    try {
      const id = await endpointFor(listener, ['PACKAGE_EXPIRE']);
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_EXPIRE', packageId: 'r4' });
      await listener.waitFor(1);
      const endpoint = await eventually(async () => {
        const res = await herald.api('GET', '/v1/endpoints');
        const e = res.body.data.find((x: { id: string }) => x.id === id);
        return e.state === 'disabled' ? e : undefined;
      });
      expect(endpoint.disabledReason).toMatch(/410/);
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_EXPIRE', packageId: 'r5' });
      // Both deliveries wait as held, which is never attempted: nothing more can arrive.
      const held = await eventually(async () => {
        const res = await herald.api('GET', `/v1/deliveries?endpoint=${id}&status=held`);
        return res.body.data.length === 2 ? res.body.data : undefined;
      });
      expect(held.every((d: { nextAttemptAt: unknown }) => d.nextAttemptAt === null)).toBe(true);
      expect(listener.received).toHaveLength(1);
      const ops = await herald.api('GET', '/v1/operational-events');
      expect(
        ops.body.data.some(
          (e: { type: string; endpointId: string }) =>
            e.type === 'endpoint.disabled' && e.endpointId === id,
        ),
      ).toBe(true);
      // Fixed and re-enabled: the held events are delivered.
      listener.respond(() => ({ status: 200 }));
      expect(
        (await herald.api('PATCH', `/v1/endpoints/${id}`, { state: 'enabled' })).body.state,
      ).toBe('enabled');
      await listener.waitFor(3);
      await eventually(async () => {
        const res = await herald.api('GET', `/v1/deliveries?endpoint=${id}&status=succeeded`);
        return res.body.data.length === 2 ? true : undefined;
      });
    } finally {
      await listener.close();
    }
  });

  it('a 410 from the old URL does not disable an endpoint moved elsewhere meanwhile', async () => {
    // The old URL answers 410 only once the move has been made (not after a fixed delay, which
    // a slow PATCH could outlast).
    let moveMade = (): void => undefined;
    const movedFirst = new Promise<void>((resolve) => (moveMade = resolve));
    const old = await startListener(async () => {
      await movedFirst;
      return { status: 410, delayMs: 50 };
    });
    const moved = await startListener(() => ({ status: 200 }));
    try {
      const id = await endpointFor(old, ['PACKAGE_DECLINE']);
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_DECLINE', packageId: 'r6' });
      await old.waitFor(1);
      // Another origin: the Basic key goes with it only when sent again (secret_required).
      const patched = await herald.api('PATCH', `/v1/endpoints/${id}`, {
        url: moved.url,
        auth: { type: 'BASIC', key: 'k-123456' },
      });
      moveMade();
      expect(patched.status).toBe(200);
      await moved.waitFor(1);
      await deliveryOf(id, 'succeeded');
      const endpoint = (await herald.api('GET', `/v1/endpoints/${id}`)).body;
      expect(endpoint.state).toBe('enabled');
      expect(old.received).toHaveLength(1);
    } finally {
      moveMade();
      await old.close();
      await moved.close();
    }
  });

  it('a listener that does not answer in time is retried after the slow-down wait', async () => {
    const listener = await startListener((_r, i) =>
      i === 0 ? { status: 200, delayMs: 3000 } : { status: 200 },
    );
    try {
      const res = await herald.api('POST', '/v1/endpoints', {
        url: listener.url,
        events: ['PACKAGE_COMPLETE'],
        options: { timeoutMs: 1000 },
      });
      const id = res.body.id as string;
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'r6' });
      const done = await deliveryOf(id, 'succeeded');
      const detail = await herald.api('GET', `/v1/deliveries/${done.id}`);
      const [first, second] = detail.body.attempts as Array<{
        outcome: string;
        startedAt: string;
        durationMs: number;
      }>;
      expect(first!.outcome).toBe('timeout');
      expect(first!.durationMs).toBeGreaterThanOrEqual(1000 - 1);
      expect(second!.outcome).toBe('success');
      // Herald's own record: the next try waited the slow-down floor after the timed-out one
      // ended. The whole schedule is shorter than 60 s, so the floor is its longest step (300 ms).
      // (Millisecond rounding of the three times allows 2 ms.)
      const ended = Date.parse(first!.startedAt) + first!.durationMs;
      expect(Date.parse(second!.startedAt) - ended).toBeGreaterThanOrEqual(300 - 2);
      expect(listener.received).toHaveLength(2);
    } finally {
      await listener.close();
    }
  });
});

describe('stranded holds (HERALD_LEASE=2s: the worker sweeps every second)', () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_LEASE: '2s' });
  });
  afterAll(() => herald.close());

  it('delivers held work of an endpoint that accepts work again without being released', async () => {
    const listener = await startListener();
    try {
      const created = await herald.api('POST', '/v1/endpoints', {
        url: listener.url,
        events: ['PACKAGE_COMPLETE'],
      });
      const id = created.body.id as string;
      await herald.api('PATCH', `/v1/endpoints/${id}`, { state: 'disabled' });
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 's1' });
      await eventually(async () => {
        const res = await herald.api('GET', `/v1/deliveries?endpoint=${id}&status=held`);
        return res.body.data.length === 1 ? true : undefined;
      });
      // Re-enabled behind the service's back, as when a late result re-holds work after the
      // endpoint was enabled: nothing releases these holds but the worker's sweep.
      const row = (await herald.store.getEndpoint(id as never))!;
      expect(
        await herald.store.updateEndpoint({ ...row, state: 'enabled', version: row.version + 1 }),
      ).toBe(true);
      await listener.waitFor(1, 15_000);
    } finally {
      await listener.close();
    }
  });
});

describe('pacing (options.rateLimit)', () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald();
  });
  afterAll(() => herald.close());

  it('refuses a rate too small to ever pace by', async () => {
    for (const rateLimit of [1e-300, 0.0001]) {
      const res = await herald.api('POST', '/v1/endpoints', {
        url: 'http://127.0.0.1:9/never',
        events: ['PACKAGE_COMPLETE'],
        options: { rateLimit },
      });
      expect(res.status).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ path: 'options/rateLimit' });
    }
  });

  it('paces at the slowest rate, and a faster rate set meanwhile applies at once', async () => {
    const listener = await startListener();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const created = await herald.api('POST', '/v1/endpoints', {
        url: listener.url,
        events: ['PACKAGE_COMPLETE'],
        options: { rateLimit: 0.001 },
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'p1' });
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'p2' });
      await listener.waitFor(1, 5000);
      // One request per 1,000 s: the second is leased to the worker and waits in its lane for
      // the next slot, unsent.
      await eventually(async () => {
        const res = await herald.api('GET', `/v1/deliveries?endpoint=${id}&status=delivering`);
        return res.body.data.length === 1 ? true : undefined;
      });
      expect(listener.received).toHaveLength(1);
      const patched = await herald.api('PATCH', `/v1/endpoints/${id}`, {
        options: { rateLimit: 50 },
      });
      expect(patched.status).toBe(200);
      await listener.waitFor(2, 5000);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await listener.close();
    }
  });
});
