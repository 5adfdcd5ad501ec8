// Operational events are events: an endpoint subscribes to a type by naming it, and receives it
// through the delivery pipeline (signed with its own secret, retried on the schedule), with the
// body {"type","id","createdAt","accountId","endpointId","deliveryId","data"}. `*` does not
// include them, an endpoint never receives its own trouble, and two failing endpoints cannot feed
// each other exhausted events forever.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newOperationalEvent } from '../../src/domain/operational.js';
import type { AccountId, EndpointId } from '../../src/domain/ids.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startListener, type Listener, type Received } from '../helpers/listener.js';

const BODY_KEYS = ['type', 'id', 'createdAt', 'accountId', 'endpointId', 'deliveryId', 'data'];

describe('operational events delivered to subscribed endpoints', () => {
  let herald: TestHerald;
  const listeners: Listener[] = [];
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '0s,200ms' });
  });
  afterAll(() => herald.close());
  // Each test starts with no endpoint: one left over would fail (its listener closed) and
  // raise delivery.exhausted to the next test's subscribers.
  afterEach(async () => {
    const left = (await herald.api('GET', '/v1/endpoints')).body.data as Array<{ id: string }>;
    for (const e of left) await herald.api('DELETE', `/v1/endpoints/${e.id}`);
    for (const l of listeners.splice(0)) await l.close();
  });

  async function listener(responder?: Parameters<typeof startListener>[0]): Promise<Listener> {
    const l = await startListener(responder);
    listeners.push(l);
    return l;
  }

  async function endpoint(
    url: string,
    events: string[],
  ): Promise<{ id: EndpointId; signingSecret: string }> {
    const res = await herald.api('POST', '/v1/endpoints', { url, events });
    expect(res.status, res.text).toBe(201);
    return { id: res.body.id, signingSecret: res.body.signingSecret };
  }

  function verified(received: Received, secret: string): Record<string, unknown> {
    const headers = Object.fromEntries(
      Object.entries(received.headers).map(([k, v]) => [k, String(v)]),
    );
    return new Webhook(secret).verify(received.body, headers) as Record<string, unknown>;
  }

  it('a 410 disables an endpoint; a subscriber receives endpoint.disabled, signed, exactly shaped', async () => {
    const gone = await listener(() => ({ status: 410 }));
    const all = await listener();
    const ops = await listener();
    const goneEp = await endpoint(`${gone.url}/gone`, ['PACKAGE_COMPLETE', 'endpoint.disabled']);
    await endpoint(`${all.url}/all`, ['*']);
    const opsEp = await endpoint(`${ops.url}/ops`, ['endpoint.disabled']);

    const published = await herald.api('POST', '/v1/events', {
      name: 'PACKAGE_COMPLETE',
      packageId: 'p-410',
    });
    expect(published.status).toBe(202);
    const [received] = await ops.waitFor(1);
    const body = verified(received!, opsEp.signingSecret);
    expect(Object.keys(JSON.parse(received!.body) as object)).toEqual(BODY_KEYS);
    const account = (await herald.api('GET', '/v1/account')).body as { id: AccountId };
    expect(body).toEqual({
      type: 'endpoint.disabled',
      id: expect.stringMatching(/^op_[0-9A-Z]{26}$/),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      accountId: account.id,
      endpointId: goneEp.id,
      deliveryId: null,
      data: { reason: 'the listener answered 410 Gone' },
    });
    // The same event as the account's list of operational events shows.
    const listed = (await herald.api('GET', '/v1/operational-events')).body.data as Array<{
      id: string;
      type: string;
    }>;
    expect(listed.find((e) => e.type === 'endpoint.disabled')?.id).toBe(body.id);

    // `*` covers the platform's events only; the disabled endpoint hears nothing of itself.
    await all.waitFor(1);
    expect(all.received.map((r) => (JSON.parse(r.body) as { name: string }).name)).toEqual([
      'PACKAGE_COMPLETE',
    ]);
    const own = await herald.api('GET', `/v1/deliveries?endpoint=${goneEp.id}`);
    expect(own.body.data.map((d: { eventName: string }) => d.eventName)).toEqual([
      'PACKAGE_COMPLETE',
    ]);
  });

  it('delivery.exhausted reaches a subscriber that fails twice first, through its retries', async () => {
    const failing = await listener(() => ({ status: 500 }));
    let opsCalls = 0;
    const ops = await listener(() => ({ status: ++opsCalls <= 2 ? 503 : 204 }));
    const failingEp = await endpoint(`${failing.url}/x`, ['PACKAGE_CREATE']);
    const opsEp = await endpoint(`${ops.url}/ops`, ['delivery.exhausted']);
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'p-500' });

    const received = await ops.waitFor(3);
    // One message, three tries: the same webhook-id, each signed.
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const bodies = received.map((r) => verified(r, opsEp.signingSecret));
    const failed = (await herald.api('GET', `/v1/deliveries?endpoint=${failingEp.id}`)).body
      .data[0] as { id: string; status: string };
    expect(failed.status).toBe('failed');
    expect(bodies[2]).toMatchObject({
      type: 'delivery.exhausted',
      endpointId: failingEp.id,
      deliveryId: failed.id,
      data: { attempts: 3, lastError: 'HTTP 500' },
    });
    const toOps = await eventually(async () => {
      const d = (await herald.api('GET', `/v1/deliveries?endpoint=${opsEp.id}`)).body.data[0];
      return d?.status === 'succeeded' ? d : undefined;
    });
    expect(toOps).toMatchObject({ eventName: 'delivery.exhausted', attemptCount: 3 });
  });

  it('two failing endpoints subscribed to each other’s trouble do not tell each other forever', async () => {
    const a = await listener(() => ({ status: 500 }));
    const b = await listener(() => ({ status: 500 }));
    const aEp = await endpoint(`${a.url}/a`, ['PACKAGE_DECLINE', 'delivery.exhausted']);
    const bEp = await endpoint(`${b.url}/b`, ['delivery.exhausted']);
    const before = await exhaustedCount();
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_DECLINE', packageId: 'p-loop' });

    // A's delivery exhausts: B is told (and fails too); B's delivery of that news exhausts: A is
    // not told (it was an operational delivery).
    await eventually(async () => ((await exhaustedCount()) === before + 2 ? true : undefined));
    const toA = (await herald.api('GET', `/v1/deliveries?endpoint=${aEp.id}`)).body.data;
    const toB = (await herald.api('GET', `/v1/deliveries?endpoint=${bEp.id}`)).body.data;
    expect(toA.map((d: { eventName: string }) => d.eventName)).toEqual(['PACKAGE_DECLINE']);
    expect(toB.map((d: { eventName: string; status: string }) => [d.eventName, d.status])).toEqual([
      ['delivery.exhausted', 'failed'],
    ]);
  });

  async function exhaustedCount(): Promise<number> {
    const text = await fetch(`${herald.url}/metrics`).then((r) => r.text());
    const line = /^herald_operational_events_total\{type="delivery.exhausted"\} (\d+)$/m.exec(text);
    return line ? Number(line[1]) : 0;
  }

  it('endpoint.reauthorization_required, enabled and credentials_replaced reach subscribers', async () => {
    const ops = await listener();
    const opsEp = await endpoint(`${ops.url}/ops`, [
      'endpoint.enabled',
      'endpoint.credentials_replaced',
    ]);
    const subject = await endpoint(`${ops.url}/subject`, ['PACKAGE_ARCHIVE']);
    await herald.api('PATCH', `/v1/endpoints/${subject.id}`, { state: 'disabled' });
    await herald.api('PATCH', `/v1/endpoints/${subject.id}`, { state: 'enabled' });
    await herald.api('PATCH', `/v1/endpoints/${subject.id}`, {
      auth: { type: 'BASIC', key: 'first-key-123' },
    });
    expect(
      (
        await herald.api('PUT', `/v1/endpoints/${subject.id}/credentials`, {
          key: 'second-key-456',
        })
      ).status,
    ).toBe(200);
    const received = await ops.waitFor(2);
    const types = received.map((r) => verified(r, opsEp.signingSecret).type).sort();
    expect(types).toEqual(['endpoint.credentials_replaced', 'endpoint.enabled']);
    for (const r of received) expect(r.body).not.toContain('second-key-456');
  });

  it('the OneSpan API takes OneSpan names only, and keeps /v1 operational subscriptions', async () => {
    const l = await listener();
    const refused = await herald.api('POST', '/api/callback', {
      url: `${l.url}/cb`,
      events: ['PACKAGE_COMPLETE', 'endpoint.disabled'],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/endpoint\.disabled is an operational event type/);

    expect(
      (
        await herald.api('POST', '/api/callback', {
          url: `${l.url}/cb`,
          events: ['PACKAGE_COMPLETE'],
        })
      ).status,
    ).toBe(200);
    const list = (await herald.api('GET', '/v1/endpoints')).body.data as Array<{
      id: string;
      origin: string | null;
    }>;
    const slot = list.find((e) => e.origin === 'default')!;
    await herald.api('PATCH', `/v1/endpoints/${slot.id}`, {
      events: ['PACKAGE_COMPLETE', 'endpoint.disabled'],
    });
    expect((await herald.api('GET', '/api/callback')).body.events).toEqual(['PACKAGE_COMPLETE']);
    await herald.api('POST', '/api/callback', {
      url: `${l.url}/cb`,
      events: ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED'],
    });
    expect((await herald.api('GET', `/v1/endpoints/${slot.id}`)).body.events).toEqual([
      'PACKAGE_COMPLETE',
      'DOCUMENT_SIGNED',
      'endpoint.disabled',
    ]);
  });

  it('refuses names that are neither event names nor operational types', async () => {
    const res = await herald.api('POST', '/v1/endpoints', {
      url: 'http://127.0.0.1:9/x',
      events: ['endpoint.exploded'],
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('events/0');
  });
});

describe('an operational event stored before a crash', () => {
  it('is fanned out when Herald starts again', async () => {
    if (process.env.HERALD_TEST_STORE === 'postgres') return;
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-ops-crash-'));
    const ops = await startListener();
    try {
      let herald = await startTestHerald({}, { dataDir });
      const account = (await herald.api('GET', '/v1/account')).body as { id: AccountId };
      const sub = await herald.api('POST', '/v1/endpoints', {
        url: `${ops.url}/ops`,
        events: ['oauth.persist_failed'],
      });
      await herald.close();
      // What a process that died right after storing the event left behind.
      const store = new SqliteStore({ path: join(dataDir, 'herald.db') });
      const event = newOperationalEvent(
        'oauth.persist_failed',
        account.id,
        {},
        { error: 'disk full' },
        Date.now(),
      );
      await store.insertOperationalEvent(event);
      await store.close();

      herald = await startTestHerald({}, { dataDir });
      try {
        const [received] = await ops.waitFor(1);
        expect(JSON.parse(received!.body)).toMatchObject({
          id: event.id,
          data: { error: 'disk full' },
        });
        expect(received!.headers['webhook-signature']).toBeDefined();
        expect(sub.status).toBe(201);
      } finally {
        await herald.close();
      }
    } finally {
      await ops.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
