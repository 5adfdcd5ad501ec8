// ExpiringCache (services/expiring-cache.ts): one read however many ask, values kept ttlMs from
// the read's start, and no value put back by a read that a change overtook.

import { describe, expect, it } from 'vitest';
import { ExpiringCache } from '../../src/services/expiring-cache.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('ExpiringCache', () => {
  let now = 1_000;
  const clock = () => now;

  it('shares one read among everyone who asks while it is in flight', async () => {
    const cache = new ExpiringCache<string, number>(1000, clock);
    const read = deferred<number>();
    let reads = 0;
    const load = () => {
      reads++;
      return read.promise;
    };
    const asked = Array.from({ length: 50 }, () => cache.get('a', load));
    read.resolve(7);
    expect(await Promise.all(asked)).toEqual(Array(50).fill(7));
    expect(await cache.get('a', load)).toBe(7);
    expect(reads).toBe(1);
  });

  it('reads again once the value is ttlMs older than its read', async () => {
    const cache = new ExpiringCache<string, number>(1000, clock);
    let reads = 0;
    const load = async () => ++reads;
    now = 5_000;
    expect(await cache.get('a', load)).toBe(1);
    now = 5_999;
    expect(await cache.get('a', load)).toBe(1);
    now = 6_000;
    expect(await cache.get('a', load)).toBe(2);
  });

  it('does not keep what a read found when the key changed while it was read', async () => {
    const cache = new ExpiringCache<string, string>(60_000, clock);
    const stale = deferred<string>();
    const first = cache.get('key', () => stale.promise);
    cache.forget('key'); // e.g. the key is revoked while its lookup is in flight
    stale.resolve('valid');
    expect(await first).toBe('valid');
    expect(await cache.get('key', async () => 'revoked')).toBe('revoked');
  });

  it('does not cache a failed read', async () => {
    const cache = new ExpiringCache<string, number>(60_000, clock);
    await expect(cache.get('a', () => Promise.reject(new Error('store down')))).rejects.toThrow(
      'store down',
    );
    expect(await cache.get('a', async () => 3)).toBe(3);
  });

  it('drops every entry when it reaches maxEntries', async () => {
    const cache = new ExpiringCache<string, number>(60_000, clock, 2);
    let reads = 0;
    const load = async () => ++reads;
    await cache.get('a', load);
    await cache.get('b', load);
    await cache.get('c', load); // full: a and b dropped
    expect(await cache.get('c', load)).toBe(3);
    expect(await cache.get('a', load)).toBe(4);
  });
});
