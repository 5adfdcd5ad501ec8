// Handover (queue/handover.ts) against a real server and listener: a new delivery goes from its
// publish straight to this process's worker when the worker has room (to send it soon, or to keep
// it in memory) and the store has no due work; package-ordered endpoints and publishes made while a backlog waits in the store go
// through claims; an idempotent replay gives its reservation back. Each test has a Herald of its
// own, idle at the start, so `herald_deliveries_handed_over_total` counts that test's publishes.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';

describe('handover of new deliveries to the worker', () => {
  let herald: TestHerald;
  let listener: Listener;
  let others: Listener[] = [];
  let release: () => void = () => undefined;

  beforeEach(async () => {
    herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '200ms,200ms' });
  });
  afterEach(async () => {
    release();
    for (const l of [listener, ...others]) await l?.close();
    others = [];
    await herald.close();
  });

  async function handedOver(): Promise<number> {
    const text = await fetch(`${herald.url}/metrics`).then((r) => r.text());
    const line = /^herald_deliveries_handed_over_total (\d+)$/m.exec(text);
    if (!line) throw new Error('no herald_deliveries_handed_over_total on /metrics');
    return Number(line[1]);
  }

  async function endpoint(
    options: Record<string, unknown> = {},
    to: Listener = listener,
    events = ['*'],
  ): Promise<string> {
    const res = await herald.api('POST', '/v1/endpoints', { url: to.url, events, options });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  async function publish(
    packageId: string,
    message: string | null = null,
    key?: string,
    name = 'PACKAGE_COMPLETE',
  ) {
    const res = await herald.api(
      'POST',
      '/v1/events',
      { name, packageId, message },
      key ? { headers: { 'idempotency-key': key } } : {},
    );
    expect(res.status).toBe(202);
    return res.body.id as string;
  }

  /** A batch of `n` events, each its own package, messages numbered in publish order. */
  function burst(n: number, prefix: string) {
    return Array.from({ length: n }, (_, i) => ({
      name: 'PACKAGE_COMPLETE',
      packageId: `${prefix}-${i}`,
      message: String(i),
    }));
  }

  async function deliveries(endpointId: string, status?: string): Promise<any[]> {
    const filter = status ? `&status=${status}` : '';
    const res = await herald.api('GET', `/v1/deliveries?endpoint=${endpointId}${filter}&limit=500`);
    return res.body.data as any[];
  }

  /**
   * Waits until the endpoint has `count` deliveries, all succeeded at their first attempt (final:
   * nothing more will be sent for them), then checks the listener got each event exactly once.
   */
  async function allDeliveredOnce(
    endpointId: string,
    eventIds: readonly string[],
    to: Listener = listener,
  ) {
    await eventually(
      async () =>
        (await deliveries(endpointId, 'succeeded')).length === eventIds.length ? true : undefined,
      15_000,
      `${eventIds.length} succeeded deliveries`,
    );
    const all = await deliveries(endpointId);
    expect(all).toHaveLength(eventIds.length);
    for (const d of all) expect(d).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    const received = to.received.map((r) => String(r.headers['webhook-id']));
    expect([...received].sort()).toEqual([...eventIds].sort());
  }

  it('hands single-event publishes to an idle worker, each delivered exactly once', async () => {
    listener = await startListener();
    const ep = await endpoint();
    const before = await handedOver();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(await publish(`single-${i}`));
      // Idle again before the next: each one is handed over.
      await listener.waitFor(i + 1);
    }
    await allDeliveredOnce(ep, ids);
    expect((await handedOver()) - before).toBe(ids.length);

    // Published together too (within the lane's 2 × maxConcurrency), and still once each.
    const together = await Promise.all(
      Array.from({ length: 8 }, (_, i) => publish(`together-${i}`)),
    );
    await allDeliveredOnce(ep, [...ids, ...together]);
    expect(await handedOver()).toBeGreaterThan(before + ids.length);
  });

  it('never hands over to a package-ordered endpoint, and keeps each package in order', async () => {
    listener = await startListener(async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { status: 200 };
    });
    const ep = await endpoint({ ordering: 'package', maxConcurrency: 4 });
    const before = await handedOver();
    const ids: string[] = [];
    for (let n = 1; n <= 4; n++) {
      for (const pkg of ['A', 'B', 'C']) ids.push(await publish(pkg, String(n)));
    }
    await allDeliveredOnce(ep, ids);
    expect(await handedOver()).toBe(before);
    for (const pkg of ['A', 'B', 'C']) {
      const order = listener.received
        .map((r) => JSON.parse(r.body) as { packageId: string; message: string })
        .filter((b) => b.packageId === pkg)
        .map((b) => b.message);
      expect(order, `package ${pkg}`).toEqual(['1', '2', '3', '4']);
    }
  });

  it('hands nothing over while a backlog waits in the store, and keeps that backlog in order', async () => {
    const released = new Promise<void>((resolve) => (release = resolve));
    listener = await startListener(() => released.then(() => ({ status: 200 })));
    const fast = await startListener();
    others.push(fast);
    // One in flight and one waiting fill the slow lane (2 × maxConcurrency).
    const slow = await endpoint({ maxConcurrency: 1 }, listener, ['PACKAGE_CREATE']);
    const other = await endpoint({}, fast, ['PACKAGE_COMPLETE']);
    const before = await handedOver();
    const ids: string[] = [];
    const create = (i: number) => publish(`backlog-${i}`, String(i), undefined, 'PACKAGE_CREATE');
    for (let i = 0; i < 3; i++) ids.push(await create(i));
    await listener.waitFor(1);
    // The first two went to the worker (the lane had room), the third waits in the store.
    expect((await deliveries(slow, 'pending')).length).toBeGreaterThan(0);
    const atBacklog = await handedOver();
    expect(atBacklog - before).toBeLessThanOrEqual(2);

    // While the store has due work (the slow listener answers nothing), nothing is handed over:
    // not to the full lane, nor to the other endpoint, whose lane has room.
    const elsewhere: string[] = [];
    for (let i = 3; i < 10; i++) {
      ids.push(await create(i));
      elsewhere.push(await publish(`elsewhere-${i}`));
      expect((await deliveries(slow, 'pending')).length).toBeGreaterThan(0);
      expect(await handedOver()).toBe(atBacklog);
    }
    // The other endpoint's deliveries are claimed and delivered meanwhile.
    await allDeliveredOnce(other, elsewhere, fast);
    expect(await handedOver()).toBe(atBacklog);
    expect(listener.received).toHaveLength(1);

    release();
    await allDeliveredOnce(slow, ids);
    // No new delivery overtook an older one waiting in the store.
    const order = listener.received.map((r) => JSON.parse(r.body).message as string);
    expect(order).toEqual(ids.map((_, i) => String(i)));

    // Caught up again: a new publish is handed over once the worker has claimed all there was.
    const more: string[] = [];
    await eventually(
      async () => {
        const now = await handedOver();
        more.push(await publish(`after-${more.length}`));
        return (await handedOver()) > now ? true : undefined;
      },
      10_000,
      'a publish handed over after the backlog',
    );
    await allDeliveredOnce(other, [...elsewhere, ...more], fast);
  });

  it('keeps an endpoint in order when due work waits past deliveries held back by package order', async () => {
    // A small worker (concurrency 2) claims a few at a time, looking at the head of the due
    // queue, 4 × its claim. That head is filled by deliveries of package A held back behind
    // A's first, which the ordered listener never answers; the other endpoint's backlog waits
    // past them. A new delivery to that endpoint must not be handed over before its backlog.
    await herald.close();
    herald = await startTestHerald({
      HERALD_RETRY_SCHEDULE: '200ms,200ms',
      HERALD_WORKER_CONCURRENCY: '2',
    });
    listener = await startListener(() => new Promise(() => undefined));
    await endpoint({ ordering: 'package' }, listener, ['PACKAGE_CREATE']);
    let open = false;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fifo = await startListener(() =>
      open ? { status: 200 } : gate.then(() => ({ status: 200 })),
    );
    others.push(fifo);
    const ep = await endpoint({ maxConcurrency: 1 }, fifo, ['PACKAGE_COMPLETE']);

    await publish('A', '1', undefined, 'PACKAGE_CREATE');
    await listener.waitFor(1);
    for (let n = 2; n <= 21; n++) await publish('A', String(n), undefined, 'PACKAGE_CREATE');
    const ids: string[] = [];
    const next = async () => ids.push(await publish(`fifo-${ids.length}`, String(ids.length)));
    // Two fill the lane (one in flight, one waiting), two wait in the store.
    for (let i = 0; i < 4; i++) await next();
    await fifo.waitFor(1);
    open = true;
    release();
    while (ids.length < 30) {
      await next();
      // Paced like a steady publisher, so that publishes fall between claims.
      await new Promise((r) => setTimeout(r, 10));
    }
    await allDeliveredOnce(ep, ids, fifo);
    const order = fifo.received.map((r) => JSON.parse(r.body).message as string);
    expect(order).toEqual(ids.map((_, i) => String(i)));
  });

  it('hands a burst larger than the worker can send at once over whole, once its endpoint has answered', async () => {
    // A worker that sends one at a time; the burst is 60 deliveries. Beyond its room (one in
    // flight, one waiting) it keeps them in memory (HERALD_HANDOVER_MEMORY, 64 MiB by default) up
    // to what the endpoint is sent in a quarter of the lease at its response times: with a
    // 10-minute lease, a listener that answers in under 2.5 s has room for all (a loaded machine
    // must not make the test's point depend on its speed).
    await herald.close();
    herald = await startTestHerald({ HERALD_WORKER_CONCURRENCY: '1', HERALD_LEASE: '10m' });
    listener = await startListener();
    const ep = await endpoint({ maxConcurrency: 1 });
    const warm: string[] = [];
    for (let i = 0; i < 3; i++) warm.push(await publish(`warm-${i}`));
    await allDeliveredOnce(ep, warm);
    const before = await handedOver();
    const batch = burst(60, 'burst');
    const res = await herald.api('POST', '/v1/events', batch);
    expect(res.status).toBe(202);
    const ids = res.body.ids as string[];
    await allDeliveredOnce(ep, [...warm, ...ids]);
    if (herald.store.capabilities.concurrentWorkers) {
      // PostgreSQL: what waits in the store any worker may take, what one keeps in memory only
      // it; so none keeps more than it can send soon (one in flight, one waiting).
      expect((await handedOver()) - before).toBeLessThanOrEqual(2);
      return;
    }
    expect((await handedOver()) - before).toBe(60);
    // Kept in memory, they were sent in the order they were published.
    const order = listener.received.slice(3).map((r) => JSON.parse(r.body).message as string);
    expect(order).toEqual(ids.map((_, i) => String(i)));

    // Without that memory it takes what it can send soon, and the rest goes through the store.
    await herald.close();
    herald = await startTestHerald({
      HERALD_WORKER_CONCURRENCY: '1',
      HERALD_HANDOVER_MEMORY: '0',
    });
    await listener.close();
    listener = await startListener();
    const again = await endpoint({ maxConcurrency: 1 });
    await allDeliveredOnce(again, [await publish('first')]);
    const start = await handedOver();
    expect((await herald.api('POST', '/v1/events', batch)).status).toBe(202);
    await eventually(
      async () => ((await deliveries(again, 'succeeded')).length === 61 ? true : undefined),
      15_000,
      '61 succeeded deliveries',
    );
    expect((await handedOver()) - start).toBeLessThanOrEqual(2);
  });

  it('sends what a burst left waiting to the URL the endpoint was changed to', async () => {
    // 60 handed over to a worker that sends one at a time, the first held by the listener; the
    // endpoint moves to another listener meanwhile: what waits in memory goes there, not to the
    // URL it had when it was published (only the one in flight, and a claim-sized remainder at
    // most, may still reach the old one).
    await herald.close();
    herald = await startTestHerald({ HERALD_WORKER_CONCURRENCY: '1' });
    let open = true;
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    release = letGo;
    listener = await startListener(() =>
      open ? { status: 200 } : gate.then(() => ({ status: 200 })),
    );
    const moved = await startListener();
    others.push(moved);
    const ep = await endpoint({ maxConcurrency: 1 });
    const warm: string[] = [];
    for (let i = 0; i < 3; i++) warm.push(await publish(`warm-${i}`));
    await allDeliveredOnce(ep, warm);
    open = false;
    const batch = burst(60, 'moving');
    const res = await herald.api('POST', '/v1/events', batch);
    expect(res.status).toBe(202);
    const ids = res.body.ids as string[];
    await listener.waitFor(4);
    const patched = await herald.api('PATCH', `/v1/endpoints/${ep}`, { url: moved.url });
    expect(patched.status).toBe(200);
    letGo();
    await eventually(
      async () => ((await deliveries(ep, 'succeeded')).length === 63 ? true : undefined),
      15_000,
      '63 succeeded deliveries',
    );
    const atOld = listener.received.length - 3;
    expect(atOld).toBeLessThanOrEqual(herald.store.capabilities.concurrentWorkers ? 3 : 1);
    expect(moved.received).toHaveLength(60 - atOld);
    const all = [...listener.received.slice(3), ...moved.received].map((r) =>
      String(r.headers['webhook-id']),
    );
    expect(all.sort()).toEqual([...ids].sort());
  });

  it('delivers an idempotent replay once and gives back what the replay reserved', async () => {
    // Reservations are held to what the worker can send soon here: a leaked one would show.
    await herald.close();
    herald = await startTestHerald({
      HERALD_RETRY_SCHEDULE: '200ms,200ms',
      HERALD_HANDOVER_MEMORY: '0',
    });
    listener = await startListener();
    // A lane of two: two leaked reservations would fill it for good.
    const ep = await endpoint({ maxConcurrency: 1 });
    const before = await handedOver();
    const first = await publish('replayed', null, 'order-42');
    await listener.waitFor(1);
    for (let i = 0; i < 3; i++) expect(await publish('replayed', null, 'order-42')).toBe(first);
    await allDeliveredOnce(ep, [first]);
    expect((await handedOver()) - before).toBe(1);

    // The worker can still take new work straight from the publish.
    const next = await publish('after-replay');
    await allDeliveredOnce(ep, [first, next]);
    expect((await handedOver()) - before).toBe(2);
  });

  it('never sends a handed-over delivery whose endpoint another process deleted before the commit', async () => {
    listener = await startListener();
    const ep = await endpoint({ maxConcurrency: 1 });
    const first = await publish('before-the-delete');
    await allDeliveredOnce(ep, [first]);
    const before = await handedOver();
    // As another process deletes it: straight in the store, so this process's cached routes and
    // worker lane still hold the endpoint, and the next publish is matched to it and handed over.
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    expect(await herald.store.deleteEndpoint(accountId, ep as never)).toBe(true);
    await publish('after-the-delete');
    await new Promise((r) => setTimeout(r, 1500));
    expect(listener.received).toHaveLength(1);
    expect(await handedOver()).toBe(before);
  });
});
