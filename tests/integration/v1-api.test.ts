// The native /v1 API: endpoints with options, signatures, idempotency, isolation, ordering,
// per-endpoint concurrency, recover, test, API keys, metrics and the OpenAPI document.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { newId } from '../../src/domain/ids.js';
import { startListener } from '../helpers/listener.js';
import { eventually, startTestHerald, TEST_ADMIN_KEY, type TestHerald } from '../helpers/herald.js';

describe('/v1', () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '200ms,200ms' });
  });
  afterAll(() => herald.close());

  it('signs deliveries verifiably with Standard Webhooks, including during a secret rotation', async () => {
    const listener = await startListener();
    try {
      const created = await herald.api('POST', '/v1/endpoints', {
        url: listener.url,
        events: ['*'],
        customHeaders: [{ key: 'X-Env', value: 'test' }],
      });
      expect(created.status).toBe(201);
      const secret = created.body.signingSecret as string;
      expect(secret).toMatch(/^whsec_/);
      expect((await herald.api('GET', `/v1/endpoints/${created.body.id}`)).text).not.toContain(
        secret.slice(6),
      );
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 's1' });
      const [r] = await listener.waitFor(1);
      expect(r!.headers['x-env']).toBe('test');
      const verified = new Webhook(secret).verify(r!.body, r!.headers as Record<string, string>);
      expect(verified).toMatchObject({ name: 'PACKAGE_CREATE', packageId: 's1' });

      const rotated = await herald.api(
        'POST',
        `/v1/endpoints/${created.body.id}/signing-secret/rotate`,
      );
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 's2' });
      const received = await listener.waitFor(2);
      const r2 = received[1]!;
      expect(String(r2.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(
        new Webhook(rotated.body.signingSecret).verify(
          r2.body,
          r2.headers as Record<string, string>,
        ),
      ).toBeTruthy();
      expect(
        new Webhook(secret).verify(r2.body, r2.headers as Record<string, string>),
      ).toBeTruthy();
      await herald.api('DELETE', `/v1/endpoints/${created.body.id}`);
    } finally {
      await listener.close();
    }
  });

  it('honours Idempotency-Key: the same key and body publish once, a different body conflicts', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await herald.api(
      'POST',
      '/v1/events',
      { name: 'PACKAGE_CREATE', packageId: 'i1' },
      { headers },
    );
    const again = await herald.api(
      'POST',
      '/v1/events',
      { name: 'PACKAGE_CREATE', packageId: 'i1' },
      { headers },
    );
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await herald.api(
      'POST',
      '/v1/events',
      { name: 'PACKAGE_CREATE', packageId: 'i2' },
      { headers },
    );
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_conflict');
  });

  it('takes concurrent batches beyond the publish budget in turn, and accepts every one', async () => {
    // Six batches of about 1.2 MiB each: more than the budget at once, so they queue.
    const message = 'm'.repeat(1100);
    const batches = Array.from({ length: 6 }, (_, b) =>
      Array.from({ length: 1000 }, (_, i) => ({
        name: 'PACKAGE_CREATE',
        packageId: `budget-${b}-${i}`,
        message,
      })),
    );
    const answers = await Promise.all(
      batches.map((batch) => herald.api('POST', '/v1/events', batch)),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 202]);
    const ids = answers.flatMap((a) => a.body.ids as string[]);
    expect(new Set(ids).size).toBe(6000);
    const last = await herald.api('GET', `/v1/events/${ids.at(-1)}`);
    expect(last.status).toBe(200);
  });

  it('keeps accounts apart: another account sees and changes nothing of this one', async () => {
    const account = await herald.api(
      'POST',
      '/v1/accounts',
      { name: 'other' },
      { key: TEST_ADMIN_KEY },
    );
    expect(account.status).toBe(201);
    // An account that does not exist has no keys to list, as it has none to create.
    const unknown = `/v1/accounts/${newId('account', Date.now())}/api-keys`;
    const admin = { key: TEST_ADMIN_KEY };
    expect((await herald.api('GET', unknown, undefined, admin)).status).toBe(404);
    expect((await herald.api('POST', unknown, { name: 'x' }, admin)).status).toBe(404);
    const otherKey = account.body.apiKey.key as string;
    const mine = await herald.api('POST', '/v1/endpoints', {
      url: 'http://127.0.0.1:9/mine',
      events: ['PACKAGE_CREATE'],
    });
    const event = await herald.api('POST', '/v1/events', {
      name: 'PACKAGE_CREATE',
      packageId: 'iso',
    });
    const as = { key: otherKey };
    expect((await herald.api('GET', '/v1/endpoints', undefined, as)).body.data).toEqual([]);
    expect((await herald.api('GET', `/v1/endpoints/${mine.body.id}`, undefined, as)).status).toBe(
      404,
    );
    expect(
      (
        await herald.api(
          'PATCH',
          `/v1/endpoints/${mine.body.id}`,
          { url: 'http://127.0.0.1:9/x' },
          as,
        )
      ).status,
    ).toBe(404);
    expect(
      (await herald.api('DELETE', `/v1/endpoints/${mine.body.id}`, undefined, as)).status,
    ).toBe(404);
    expect((await herald.api('GET', `/v1/events/${event.body.id}`, undefined, as)).status).toBe(
      404,
    );
    expect((await herald.api('GET', '/v1/deliveries', undefined, as)).body.data).toEqual([]);
    expect((await herald.api('GET', '/api/callback', undefined, as)).status).toBe(404);
    // Its own events do not fan out to this account's endpoints.
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'iso2' }, as);
    const mineDeliveries = await herald.api('GET', `/v1/deliveries?endpoint=${mine.body.id}`);
    expect(mineDeliveries.body.data).toHaveLength(1);
    await herald.api('DELETE', `/v1/endpoints/${mine.body.id}`);
    // API keys: create, use, revoke.
    const key = await herald.api('POST', '/v1/api-keys', { name: 'ci' }, as);
    expect(
      (await herald.api('GET', '/v1/endpoints', undefined, { key: key.body.key })).status,
    ).toBe(200);
    expect((await herald.api('DELETE', `/v1/api-keys/${key.body.id}`, undefined, as)).status).toBe(
      204,
    );
    expect(
      (await herald.api('GET', '/v1/endpoints', undefined, { key: key.body.key })).status,
    ).toBe(401);
  });

  it('a slow listener does not delay the others', async () => {
    // The slow listener answers nothing until the fast one has everything.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = await startListener(() => released.then(() => ({ status: 200 })));
    const fast = await startListener();
    try {
      const s = await herald.api('POST', '/v1/endpoints', {
        url: slow.url,
        events: ['DOCUMENT_VIEWED'],
        options: { maxConcurrency: 2 },
      });
      const f = await herald.api('POST', '/v1/endpoints', {
        url: fast.url,
        events: ['DOCUMENT_VIEWED'],
      });
      const batch = Array.from({ length: 50 }, (_, i) => ({
        name: 'DOCUMENT_VIEWED',
        packageId: `slow${i}`,
      }));
      await herald.api('POST', '/v1/events', batch);
      // All 50 reach the fast listener while the slow one holds its first two unanswered
      // (its maxConcurrency): nothing waits for it. (30 s only stops a broken build hanging.)
      await fast.waitFor(50, 30_000);
      await slow.waitFor(2, 30_000);
      expect(slow.received).toHaveLength(2);
      release();
      await slow.waitFor(50, 30_000);
      await herald.api('DELETE', `/v1/endpoints/${s.body.id}`);
      await herald.api('DELETE', `/v1/endpoints/${f.body.id}`);
    } finally {
      release();
      await slow.close();
      await fast.close();
    }
  });

  it('delivers one package at a time, in publish order, when the endpoint orders by package', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let failed = false;
    const listener = await startListener(async (r) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((res) => setTimeout(res, 20));
      inFlight--;
      // The second event of package A fails once: the later ones of A must wait for it.
      const body = JSON.parse(r.body);
      if (body.message === '2' && !failed) {
        failed = true;
        return { status: 500 };
      }
      return { status: 200 };
    });
    try {
      const ep = await herald.api('POST', '/v1/endpoints', {
        url: listener.url,
        events: ['SIGNER_COMPLETE'],
        options: { ordering: 'package', maxConcurrency: 10 },
      });
      const batch = [];
      for (let n = 1; n <= 5; n++)
        batch.push({ name: 'SIGNER_COMPLETE', packageId: 'A', message: String(n) });
      await herald.api('POST', '/v1/events', batch);
      await eventually(async () => {
        const res = await herald.api(
          'GET',
          `/v1/deliveries?endpoint=${ep.body.id}&status=succeeded`,
        );
        return res.body.data.length === 5 ? true : undefined;
      });
      const order = listener.received.map((r) => JSON.parse(r.body).message);
      expect(order).toEqual(['1', '2', '2', '3', '4', '5']);
      expect(maxInFlight).toBe(1);
      await herald.api('DELETE', `/v1/endpoints/${ep.body.id}`);
    } finally {
      await listener.close();
    }
  });

  it('recovers failed deliveries in a time range, and tests an endpoint on demand', async () => {
    const listener = await startListener(() => ({ status: 500 }));
    try {
      const ep = await herald.api('POST', '/v1/endpoints', {
        url: listener.url,
        events: ['EMAIL_BOUNCE'],
      });
      const since = new Date(Date.now() - 1000).toISOString();
      await herald.api('POST', '/v1/events', [
        { name: 'EMAIL_BOUNCE', packageId: 'b1', message: 'BOUNCE' },
        { name: 'EMAIL_BOUNCE', packageId: 'b2', message: 'OOTO' },
      ]);
      await eventually(async () => {
        const res = await herald.api('GET', `/v1/deliveries?endpoint=${ep.body.id}&status=failed`);
        return res.body.data.length === 2 ? true : undefined;
      });
      listener.respond(() => ({ status: 204 }));
      const tested = await herald.api('POST', `/v1/endpoints/${ep.body.id}/test`);
      expect(tested.body).toMatchObject({ ok: true, statusCode: 204 });
      const recovered = await herald.api('POST', `/v1/endpoints/${ep.body.id}/recover`, { since });
      expect(recovered.body.recovered).toBe(2);
      await eventually(async () => {
        const res = await herald.api(
          'GET',
          `/v1/deliveries?endpoint=${ep.body.id}&status=succeeded`,
        );
        return res.body.data.length === 2 ? true : undefined;
      });
    } finally {
      await listener.close();
    }
  });

  it('pages deliveries newest first with a cursor', async () => {
    const ep = await herald.api('POST', '/v1/endpoints', {
      url: 'http://127.0.0.1:9/',
      events: ['TEMPLATE_CREATE'],
      options: { retrySchedule: [] },
    });
    await herald.api('PATCH', `/v1/endpoints/${ep.body.id}`, { state: 'disabled' });
    await herald.api(
      'POST',
      '/v1/events',
      Array.from({ length: 7 }, (_, i) => ({ name: 'TEMPLATE_CREATE', packageId: `t${i}` })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await herald.api(
        'GET',
        `/v1/deliveries?endpoint=${ep.body.id}&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...res.body.data.map((d: { id: string }) => d.id));
      cursor = res.body.next;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect([...seen].sort().reverse()).toEqual(seen);
    const event = await herald.api('GET', `/v1/deliveries/${seen[0]}`);
    expect(event.body.status).toBe('held');
  });

  it('serves /metrics, /healthz and /openapi.json', async () => {
    const metrics = await fetch(`${herald.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/herald_events_received_total \d+/);
    expect(metrics).toMatch(/herald_queue_deliveries\{status="held"\} \d+/);
    expect(metrics).toMatch(/herald_delivery_attempt_duration_seconds_bucket/);
    expect(metrics).toMatch(/herald_endpoints\{state="enabled",auth_status="ok"\} \d+/);
    const health = await fetch(`${herald.url}/healthz`);
    expect(health.status).toBe(200);
    const openapi = (await fetch(`${herald.url}/openapi.json`).then((r) => r.json())) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/api/callback',
        '/v1/events',
        '/v1/deliveries',
        '/v1/endpoints/{id}/recover',
      ]),
    );
  });
});
