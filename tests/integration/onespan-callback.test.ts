// The OneSpan-compatible surface, checked as an existing OneSpan client would use it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_CLASS } from '../../src/domain/events.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually, startTestHerald, TEST_API_KEY, type TestHerald } from '../helpers/herald.js';

const ONESPAN_KEYS = [
  '@class',
  'name',
  'sessionUser',
  'packageId',
  'message',
  'documentId',
  'createdDate',
];

describe('OneSpan-compatible /api/callback', () => {
  let herald: TestHerald;
  let listener: Listener;
  const basic = { headers: { authorization: `Basic ${TEST_API_KEY}` }, key: null };

  beforeAll(async () => {
    herald = await startTestHerald();
    listener = await startListener();
  });
  afterAll(async () => {
    await herald.close();
    await listener.close();
  });

  it('delivers exactly the subscribed events, as the exact OneSpan payload with the Basic callback key', async () => {
    const registered = await herald.api(
      'POST',
      '/api/callback',
      {
        url: `${listener.url}/cb`,
        key: 'callback-key-7f3a',
        events: ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED', 'FUTURE_EVENT_X'],
      },
      basic,
    );
    expect(registered.status).toBe(200);
    expect(registered.body.key).toBe('****7f3a');

    const published: Record<string, string> = {};
    const publish = async (body: { name: string; [field: string]: unknown }) => {
      const res = await herald.api('POST', '/v1/events', body, basic);
      expect(res.status, res.text).toBe(202);
      published[body.name] = res.body.id as string;
    };
    await publish({ name: 'PACKAGE_CREATE', packageId: 'p1' });
    await publish({
      name: 'PACKAGE_COMPLETE',
      packageId: 'p1',
      sessionUser: 'u1',
      createdDate: '2020-08-21T14:12:34.544Z',
    });
    await publish({ name: 'DOCUMENT_SIGNED', packageId: 'p1', documentId: 'd1' });
    await publish({ name: 'FUTURE_EVENT_X', packageId: 'p1' });
    await publish({ name: 'SIGNER_COMPLETE', packageId: 'p1' });

    const received = await listener.waitFor(3);
    // Nothing more can arrive: the subscribed events' deliveries are done, and the others got
    // none (deliveries are made with the event, in the same transaction, or never).
    const deliveriesOf = async (name: string) =>
      (await herald.api('GET', `/v1/events/${published[name]}`)).body.deliveries as Array<{
        status: string;
      }>;
    for (const name of ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED', 'FUTURE_EVENT_X']) {
      await eventually(
        async () => ((await deliveriesOf(name))[0]?.status === 'succeeded' ? true : undefined),
        10_000,
        `the delivery of ${name} to succeed`,
      );
      expect(await deliveriesOf(name)).toHaveLength(1);
    }
    expect(await deliveriesOf('PACKAGE_CREATE')).toEqual([]);
    expect(await deliveriesOf('SIGNER_COMPLETE')).toEqual([]);
    expect(received).toHaveLength(3);
    const names = received.map((r) => JSON.parse(r.body).name).sort();
    expect(names).toEqual(['DOCUMENT_SIGNED', 'FUTURE_EVENT_X', 'PACKAGE_COMPLETE']);
    for (const r of received) {
      expect(r.headers.authorization).toBe('Basic callback-key-7f3a');
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.headers['user-agent']).toMatch(/^Herald\//);
      expect(r.headers['webhook-id']).toMatch(/^evt_/);
      expect(r.headers['webhook-timestamp']).toMatch(/^\d+$/);
      expect(Object.keys(JSON.parse(r.body))).toEqual(ONESPAN_KEYS);
    }
    const complete = received.find((r) => JSON.parse(r.body).name === 'PACKAGE_COMPLETE')!;
    expect(complete.body).toBe(
      JSON.stringify({
        '@class': EVENT_CLASS,
        name: 'PACKAGE_COMPLETE',
        sessionUser: 'u1',
        packageId: 'p1',
        message: null,
        documentId: null,
        createdDate: '2020-08-21T14:12:34.544Z',
      }),
    );
  });

  it('never shows the key, and posting the GET body back keeps the stored key working', async () => {
    const got = await herald.api('GET', '/api/callback', undefined, basic);
    expect(got.status).toBe(200);
    expect(got.text).not.toContain('callback-key-7f3a');
    expect(got.body.key).toBe('****7f3a');
    const reposted = await herald.api('POST', '/api/callback', got.body, basic);
    expect(reposted.status).toBe(200);
    const before = listener.received.length;
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'p2' }, basic);
    const received = await listener.waitFor(before + 1);
    expect(received[before]!.headers.authorization).toBe('Basic callback-key-7f3a');
  });

  it('sends no Authorization header to a NONE connector', async () => {
    const none = await startListener();
    try {
      const res = await herald.api(
        'POST',
        '/api/callback/connectors/dynamics2013',
        { url: `${none.url}/hook`, events: ['PACKAGE_DECLINE'] },
        basic,
      );
      expect(res.status).toBe(200);
      expect(res.body.authType).toBe('NONE');
      await herald.api(
        'POST',
        '/v1/events',
        { name: 'PACKAGE_DECLINE', packageId: 'p3', message: 'not today' },
        basic,
      );
      const [r] = await none.waitFor(1);
      expect(r!.headers.authorization).toBeUndefined();
      expect(JSON.parse(r!.body).message).toBe('not today');
      const got = await herald.api(
        'GET',
        '/api/callback/connectors/dynamics2013',
        undefined,
        basic,
      );
      expect(got.body.url).toBe(`${none.url}/hook`);
      expect(
        (await herald.api('DELETE', '/api/callback/connectors/dynamics2013', undefined, basic))
          .status,
      ).toBe(204);
      expect(
        (await herald.api('GET', '/api/callback/connectors/dynamics2013', undefined, basic)).status,
      ).toBe(404);
    } finally {
      await none.close();
    }
  });

  it('lists each configuration as an endpoint of the account in /v1', async () => {
    const list = await herald.api('GET', '/v1/endpoints');
    const callback = list.body.data.find((e: { origin: string }) => e.origin === 'default');
    expect(callback).toMatchObject({
      auth: { type: 'BASIC', status: 'ok', key: '****7f3a' },
      state: 'enabled',
    });
    expect(JSON.stringify(list.body)).not.toContain('callback-key-7f3a');
  });

  it('replaces the key when a new one is posted, and removes the configuration on DELETE', async () => {
    await herald.api(
      'POST',
      '/api/callback',
      { url: `${listener.url}/cb`, key: 'rotated-key-9999', events: ['PACKAGE_ARCHIVE'] },
      basic,
    );
    const before = listener.received.length;
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_ARCHIVE', packageId: 'p4' }, basic);
    const received = await listener.waitFor(before + 1);
    expect(received[before]!.headers.authorization).toBe('Basic rotated-key-9999');
    expect((await herald.api('DELETE', '/api/callback', undefined, basic)).status).toBe(204);
    expect((await herald.api('GET', '/api/callback', undefined, basic)).status).toBe(404);
    await eventually(async () =>
      (await herald.api('GET', '/v1/endpoints')).body.data.some(
        (e: { origin: string }) => e.origin === 'default',
      )
        ? undefined
        : true,
    );
  });
});
