// What publishes and authenticated requests read from the store and share (services/
// expiring-cache.ts), against a real server and store: many requests at once read an account's
// routes or a key's principal once, and a change made while such a read is in flight (an endpoint
// added, a key revoked) counts for the very next request, not after the cache's lifetime.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';

type Method = 'listEndpoints' | 'findApiKeyByHash';

describe('reads shared by concurrent requests', () => {
  let herald: TestHerald;
  let listeners: Listener[] = [];

  beforeEach(async () => {
    herald = await startTestHerald();
  });
  afterEach(async () => {
    for (const l of listeners) await l.close();
    listeners = [];
    await herald.close();
  });

  /** Counts the store's calls of `method` from now on. */
  function count(method: Method): { readonly calls: number } {
    const store = herald.store as unknown as Record<Method, (...a: unknown[]) => Promise<unknown>>;
    const original = store[method].bind(store);
    const counter = { calls: 0 };
    store[method] = (...args) => {
      counter.calls++;
      return original(...args);
    };
    return counter;
  }

  /**
   * Makes the next call of `method` read the store at once but answer only when `release` is
   * called: a read that began before a change and lands after it.
   */
  function holdNext(method: Method): { readonly held: Promise<void>; release(): void } {
    const store = herald.store as unknown as Record<Method, (...a: unknown[]) => Promise<unknown>>;
    const original = store[method].bind(store);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const held = new Promise<void>((resolve) => (reached = resolve));
    store[method] = async (...args) => {
      store[method] = original;
      const answer = await original(...args);
      reached();
      await released;
      return answer;
    };
    return { held, release };
  }

  async function endpointTo(): Promise<{ id: string; listener: Listener }> {
    const listener = await startListener();
    listeners.push(listener);
    const res = await herald.api('POST', '/v1/endpoints', { url: listener.url, events: ['*'] });
    expect(res.status).toBe(201);
    return { id: res.body.id as string, listener };
  }

  const publish = (packageId: string, key?: string) =>
    herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId }, { key });

  it('reads an account’s routes once for a burst of concurrent publishes', async () => {
    const { listener } = await endpointTo();
    const reads = count('listEndpoints');
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    // Straight to the service: HTTP requests would arrive spread out, each after the last read.
    const published = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const event = { name: 'PACKAGE_COMPLETE', packageId: `burst-${i}` };
        return herald.services.ingest.publish(accountId, event, JSON.stringify(event), undefined);
      }),
    );
    expect(published.every((p) => !p.replayed)).toBe(true);
    expect(reads.calls).toBe(1);
    await listener.waitFor(40);
  });

  it('routes the next publish to an endpoint added while the routes were being read', async () => {
    await endpointTo();
    const read = holdNext('listEndpoints');
    const first = publish('before-the-change');
    await read.held;
    const added = await endpointTo();
    read.release();
    expect((await first).status).toBe(202);
    expect((await publish('after-the-change')).status).toBe(202);
    const received = await added.listener.waitFor(1);
    expect(JSON.parse(String(received[0]!.body))).toMatchObject({ packageId: 'after-the-change' });
  });

  it('looks a new key up once for a burst of concurrent requests', async () => {
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const { key } = await herald.services.accounts.createApiKey(accountId, 'burst');
    const lookups = count('findApiKeyByHash');
    // Straight to the service: HTTP requests would arrive spread out, each after the last read.
    const principals = await Promise.all(
      Array.from({ length: 40 }, () => herald.services.accounts.authenticate(`Bearer ${key}`)),
    );
    expect(principals).toEqual(Array(40).fill({ kind: 'account', accountId }));
    expect(lookups.calls).toBe(1);
  });

  it('refuses a key revoked while its lookup was in flight on the very next request', async () => {
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const created = await herald.services.accounts.createApiKey(accountId, 'revoked mid-read');
    const lookup = holdNext('findApiKeyByHash');
    const first = herald.api('GET', '/v1/endpoints', undefined, { key: created.key });
    await lookup.held;
    await herald.services.accounts.revokeApiKey(accountId, created.id);
    lookup.release();
    // Read before the revocation: it may pass. Nothing after it may.
    expect([200, 401]).toContain((await first).status);
    const next = await herald.api('GET', '/v1/endpoints', undefined, { key: created.key });
    expect(next.status).toBe(401);
  });

  it('reads again after a failed read', async () => {
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const { key } = await herald.services.accounts.createApiKey(accountId, 'after a failure');
    const store = herald.store as unknown as Record<Method, (...a: unknown[]) => Promise<unknown>>;
    const original = store.findApiKeyByHash.bind(store);
    store.findApiKeyByHash = () => Promise.reject(new Error('store unavailable (test)'));
    const failed = await herald.api('GET', '/v1/endpoints', undefined, { key });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    store.findApiKeyByHash = original;
    await eventually(async () =>
      (await herald.api('GET', '/v1/endpoints', undefined, { key })).status === 200
        ? true
        : undefined,
    );
  });
});
