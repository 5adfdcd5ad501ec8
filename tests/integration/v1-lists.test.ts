// Reading lists from /v1: events by package id, name and time with a cursor; deliveries by package
// id; a query parameter a route does not know is refused, not ignored. And PATCH that turns signing
// on shows the new secret once, as create does.

import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually, startTestHerald, TEST_ADMIN_KEY, type TestHerald } from '../helpers/herald.js';

describe('/v1 lists', () => {
  let herald: TestHerald;
  let listener: Listener;
  let endpointId: string;
  const published: Array<{ id: string; name: string; packageId: string }> = [];

  beforeAll(async () => {
    herald = await startTestHerald();
    listener = await startListener();
    const ep = await herald.api('POST', '/v1/endpoints', {
      url: listener.url,
      events: ['*'],
      signing: false,
    });
    endpointId = ep.body.id;
    // One at a time: each its own millisecond and id, so "newest first" has one answer.
    for (const [name, packageId] of [
      ['PACKAGE_CREATE', 'pkg-a'],
      ['DOCUMENT_SIGNED', 'pkg-a'],
      ['PACKAGE_CREATE', 'pkg-b'],
      ['PACKAGE_COMPLETE', 'pkg-a'],
      ['PACKAGE_READY_FOR_COMPLETION', 'pkg-b'],
    ] as const) {
      const r = await herald.api('POST', '/v1/events', { name, packageId });
      expect(r.status).toBe(202);
      published.push({ id: r.body.id, name, packageId });
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  });
  afterAll(async () => {
    await herald.close();
    await listener.close();
  });

  const ids = (body: { data: Array<{ id: string }> }) => body.data.map((e) => e.id);
  const newestFirst = (filter: (e: (typeof published)[number]) => boolean) =>
    published
      .filter(filter)
      .map((e) => e.id)
      .reverse();

  it('lists events newest first, by package id and by name (aliases normalised)', async () => {
    const all = await herald.api('GET', '/v1/events');
    expect(all.status).toBe(200);
    expect(ids(all.body)).toEqual(newestFirst(() => true));
    expect(all.body.next).toBeNull();
    expect(all.body.data[0]).toMatchObject({
      name: 'PACKAGE_READY_FOR_COMPLETE',
      packageId: 'pkg-b',
      payload: { name: 'PACKAGE_READY_FOR_COMPLETE' },
    });
    const byPackage = await herald.api('GET', '/v1/events?packageId=pkg-a');
    expect(ids(byPackage.body)).toEqual(newestFirst((e) => e.packageId === 'pkg-a'));
    const byName = await herald.api('GET', '/v1/events?name=PACKAGE_CREATE');
    expect(ids(byName.body)).toEqual(newestFirst((e) => e.name === 'PACKAGE_CREATE'));
    const alias = await herald.api('GET', '/v1/events?name=PACKAGE_READY_FOR_COMPLETION');
    expect(ids(alias.body)).toEqual([published[4]!.id]);
    const both = await herald.api('GET', '/v1/events?packageId=pkg-b&name=PACKAGE_CREATE');
    expect(ids(both.body)).toEqual([published[2]!.id]);
  });

  it('pages events with a cursor and filters them by time received', async () => {
    const seen: string[] = [];
    let next: string | null = null;
    for (let page = 0; page < 5; page++) {
      const r: Awaited<ReturnType<TestHerald['api']>> = await herald.api(
        'GET',
        `/v1/events?limit=2${next ? `&cursor=${next}` : ''}`,
      );
      expect(r.status).toBe(200);
      expect(r.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...ids(r.body));
      next = r.body.next;
      if (next === null) break;
    }
    expect(seen).toEqual(newestFirst(() => true));

    const all = (await herald.api('GET', '/v1/events')).body.data as Array<{
      id: string;
      receivedAt: string;
    }>;
    const third = all[2]!.receivedAt;
    const since = await herald.api('GET', `/v1/events?since=${third}`);
    expect(ids(since.body)).toEqual(all.slice(0, 3).map((e) => e.id));
    const until = await herald.api('GET', `/v1/events?until=${third}`);
    expect(ids(until.body)).toEqual(all.slice(3).map((e) => e.id));
    const future = await herald.api('GET', '/v1/events?since=2999-01-01T00:00:00Z');
    expect(future.body.data).toEqual([]);
  });

  it('filters deliveries by the package id of their events', async () => {
    const r = await herald.api('GET', `/v1/deliveries?packageId=pkg-b&endpoint=${endpointId}`);
    expect(r.status).toBe(200);
    expect(r.body.data.map((d: { eventId: string }) => d.eventId)).toEqual(
      newestFirst((e) => e.packageId === 'pkg-b'),
    );
    const none = await herald.api('GET', '/v1/deliveries?packageId=pkg-z');
    expect(none.body.data).toEqual([]);
  });

  it('refuses query parameters a route does not know, naming them, on every list route', async () => {
    const routes: Array<[string, string | undefined]> = [
      ['/v1/events?packageID=pkg-a', 'packageID'],
      ['/v1/deliveries?package=pkg-a', 'package'],
      ['/v1/endpoints?state=enabled', 'state'],
      [`/v1/endpoints/${endpointId}?verbose=1`, 'verbose'],
      ['/v1/operational-events?type=delivery.exhausted', 'type'],
      ['/v1/api-keys?all=1', 'all'],
      [`/v1/events/${published[0]!.id}?expand=deliveries`, 'expand'],
    ];
    for (const [path, name] of routes) {
      const r = await herald.api('GET', path);
      expect(r.status, path).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body.code).toBe('invalid_request');
      expect(r.body.detail).toContain(`"${name}"`);
      expect(r.body.errors).toEqual([{ path: name, message: 'unknown query parameter' }]);
    }
    const admin = await herald.api('GET', '/v1/accounts?name=x', undefined, {
      key: TEST_ADMIN_KEY,
    });
    expect(admin.status).toBe(400);
    expect(admin.body.detail).toMatch(/"name".*takes no query parameters/);
    const twice = await herald.api('GET', '/v1/deliveries?status=pending&status=failed');
    expect(twice.status).toBe(400);
    expect(twice.body.detail).toBe('Query parameter status is given more than once');
    const badName = await herald.api('GET', '/v1/events?name=package%20complete');
    expect(badName.status).toBe(400);
    const badCursor = await herald.api('GET', '/v1/events?cursor=dlv_0000');
    expect(badCursor.body.code).toBe('invalid_cursor');
    const badLimit = await herald.api('GET', '/v1/events?limit=0');
    expect(badLimit.body.detail).toMatch(/limit must be an integer from 1 to 500/);
  });

  it('PATCH that turns signing on answers the new secret once; later answers do not', async () => {
    const on = await herald.api('PATCH', `/v1/endpoints/${endpointId}`, { signing: true });
    expect(on.status).toBe(200);
    const secret = on.body.signingSecret as string;
    expect(secret).toMatch(/^whsec_/);
    expect(on.body.signing).toEqual({ enabled: true, secrets: 1 });
    const again = await herald.api('PATCH', `/v1/endpoints/${endpointId}`, {
      signing: true,
      description: 'still signing',
    });
    expect(again.body.signingSecret).toBeUndefined();
    expect((await herald.api('GET', `/v1/endpoints/${endpointId}`)).text).not.toContain(
      secret.slice(6),
    );
    // The secret shown is the one deliveries are signed with.
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_ARCHIVE', packageId: 'pkg-signed' });
    const signed = await eventually(
      () => listener.received.find((r) => r.body.includes('pkg-signed')),
      10_000,
      'the signed delivery',
    );
    expect(
      new Webhook(secret).verify(signed.body, signed.headers as Record<string, string>),
    ).toMatchObject({ packageId: 'pkg-signed' });
  });
});
