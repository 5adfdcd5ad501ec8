// The token cache's single flights and refusals, without a store or a token endpoint: who joins
// which refresh or recovery, and which generations count as refused for which credentials.

import { describe, expect, it } from 'vitest';
import type { Authorization } from '../../src/delivery/credentials.js';
import type { Endpoint } from '../../src/domain/endpoint.js';
import type { AccountId, EndpointId } from '../../src/domain/ids.js';
import {
  credentialSubmission,
  deadIn,
  endpointOfFlightKey,
  flightKey,
} from '../../src/oauth/credential-keys.js';
import { TokenCache } from '../../src/oauth/token-cache.js';
import type { RefreshReport } from '../../src/oauth/token-refresh.js';
import { SecretBox, generateMasterKey } from '../../src/services/secret-box.js';
import type { TokenRecord } from '../../src/store/port.js';
import { bearerToken } from '../helpers/bearer.js';
import { anEndpoint, T0 } from '../helpers/store.js';

const box = SecretBox.fromText(generateMasterKey());

function anOAuthEndpoint(refreshToken = 'rt-0', credentialsSetAt = T0): Endpoint {
  return {
    ...anEndpoint('acc_1' as AccountId, T0),
    authType: 'OAUTH2',
    oauth: {
      flavor: 'salesforce',
      grantType: 'REFRESH_TOKEN',
      tokenUrl: 'http://127.0.0.1:9/services/oauth2/token',
      clientId: 'client',
      scope: null,
      authMechanism: 'BODY',
      customParameters: [],
    },
    secrets: { refreshToken, credentialsSetAt },
  };
}

const bearer = bearerToken;

const report = (generation: number): RefreshReport => ({
  authorization: bearer(generation),
  instanceUrl: null,
  identityUrl: null,
  rotated: false,
  scope: null,
});

/** A promise and its resolver, to finish a flight when the test says so. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function aRecord(endpointId: EndpointId, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    endpointId,
    credentialKey: 'lineage',
    generation: 3,
    accessTokenCiphertext: box.seal('at-3'),
    refreshTokenCiphertext: null,
    expiresAt: null,
    refreshAt: null,
    instanceUrl: null,
    deadReason: null,
    deadKey: null,
    updatedAt: T0,
    ...overrides,
  };
}

describe('credential keys', () => {
  it('keys flights by endpoint and submission, and finds the endpoint back', () => {
    const endpoint = anOAuthEndpoint();
    const key = flightKey(endpoint);
    expect(key).toBe(`${endpoint.id}|${credentialSubmission(endpoint)}`);
    expect(endpointOfFlightKey(key)).toBe(endpoint.id);
    // Credentials submitted again, even the same ones, never join the old ones' flight.
    const resubmitted = { ...endpoint, secrets: { ...endpoint.secrets, credentialsSetAt: T0 + 1 } };
    expect(flightKey(resubmitted)).not.toBe(key);
    expect(endpointOfFlightKey(flightKey(resubmitted))).toBe(endpoint.id);
  });

  it.each([
    ['no record', undefined, 'sub', undefined],
    ['alive', { deadReason: null, deadKey: null }, 'sub', undefined],
    ['dead, this submission', { deadReason: 'revoked', deadKey: 'sub' }, 'sub', 'revoked'],
    ['dead, an older submission', { deadReason: 'revoked', deadKey: 'old' }, 'sub', undefined],
  ] as const)('deadIn: %s', (_label, fields, submission, expected) => {
    const record = fields === undefined ? undefined : aRecord('ep_1' as EndpointId, fields);
    expect(deadIn(record, submission)).toBe(expected);
  });
});

describe('TokenCache', () => {
  it('is fresh before refresh time and expiry, not at or after either', () => {
    let now = T0;
    const cache = new TokenCache(box, () => now);
    const cases: [number | null, number | null, number, boolean][] = [
      [null, null, T0, true],
      [T0 + 10, null, T0 + 9, true],
      [T0 + 10, null, T0 + 10, false],
      [null, T0 + 10, T0 + 10, false],
      [T0 + 20, T0 + 10, T0 + 15, false],
    ];
    for (const [refreshAt, expiresAt, at, fresh] of cases) {
      now = at;
      expect(cache.fresh({ refreshAt, expiresAt })).toBe(fresh);
    }
  });

  it('caches a stored record with an access token, and not one without', () => {
    const cache = new TokenCache(box, () => T0);
    const id = 'ep_1' as EndpointId;
    expect(cache.fromRecord(aRecord(id, { accessTokenCiphertext: null }))).toBeUndefined();
    expect(cache.get(id)).toBeUndefined();
    const cached = cache.fromRecord(aRecord(id))!;
    expect(cached).toEqual({
      lineage: 'lineage',
      generation: 3,
      header: 'Bearer at-3',
      refreshAt: null,
      expiresAt: null,
    });
    expect(cache.get(id)).toBe(cached);
    expect(TokenCache.ok(cached)).toEqual({
      ok: true,
      header: 'Bearer at-3',
      bearer: true,
      generation: 3,
    });
  });

  it('joins a refresh that began from the same generation or a later one', async () => {
    const cache = new TokenCache(box, () => T0);
    const running = later<RefreshReport>();
    let started = 0;
    const start = (): Promise<RefreshReport> => {
      started++;
      return running.promise;
    };
    const first = cache.flight('k', 2, start);
    expect(cache.flight('k', 2, start)).toBe(first);
    expect(cache.flight('k', 1, start)).toBe(first);
    expect(cache.flight('other', 2, start)).not.toBe(first);
    expect(started).toBe(2);
    running.resolve(report(3));
    await expect(first).resolves.toEqual(report(3));
  });

  it('refreshes after, not with, a flight that began from an older generation', async () => {
    const cache = new TokenCache(box, () => T0);
    const older = later<RefreshReport>();
    const order: string[] = [];
    const first = cache.flight('k', 1, () => {
      order.push('from 1');
      return older.promise;
    });
    const second = cache.flight('k', 2, () => {
      order.push('from 2');
      return Promise.resolve(report(3));
    });
    expect(second).not.toBe(first);
    expect(order).toEqual(['from 1']);
    older.resolve(report(2));
    await expect(second).resolves.toEqual(report(3));
    expect(order).toEqual(['from 1', 'from 2']);
    // Both flights are over: the next one starts afresh.
    let fresh = false;
    await cache.flight('k', 0, () => {
      fresh = true;
      return Promise.resolve(report(4));
    });
    expect(fresh).toBe(true);
  });

  it('shares one recovery per refused generation; a newer refusal starts its own', async () => {
    const cache = new TokenCache(box, () => T0);
    const answer = later<Authorization>();
    let started = 0;
    const start = (): Promise<Authorization> => {
      started++;
      return answer.promise;
    };
    const first = cache.recover('k', 1, start);
    expect(cache.recovering('k')).toBe(first);
    expect(cache.recover('k', 1, start)).toBe(first);
    expect(cache.recover('k', 0, start)).toBe(first);
    const newer = cache.recover('k', 2, () => Promise.resolve(bearer(3)));
    expect(newer).not.toBe(first);
    expect(cache.recovering('k')).toBe(newer);
    expect(started).toBe(1);
    answer.resolve(bearer(2));
    await Promise.all([first, newer]);
    expect(cache.recovering('k')).toBeUndefined();
  });

  it('knows which generations were refused, for these credentials only', () => {
    const cache = new TokenCache(box, () => T0);
    const endpoint = anOAuthEndpoint();
    expect(cache.refused(endpoint, 1)).toBe(false);
    cache.refuse(endpoint, 2);
    expect([1, 2, 3].map((g) => cache.refused(endpoint, g))).toEqual([true, true, false]);
    cache.refuse(endpoint, 1); // an older refusal does not lower the mark
    expect(cache.refused(endpoint, 2)).toBe(true);
    const resubmitted = { ...endpoint, secrets: { ...endpoint.secrets, credentialsSetAt: T0 + 1 } };
    expect(cache.refused(resubmitted, 1)).toBe(false);
  });

  it('lists and forgets every endpoint it keeps something for', () => {
    const cache = new TokenCache(box, () => T0);
    const a = anOAuthEndpoint();
    const b = { ...anOAuthEndpoint(), id: 'ep_b' as EndpointId };
    const c = { ...anOAuthEndpoint(), id: 'ep_c' as EndpointId };
    cache.fromRecord(aRecord(a.id));
    cache.refuse(b, 1);
    void cache.flight(flightKey(c), 0, () => new Promise<RefreshReport>(() => {}));
    void cache.recover(flightKey(a), 1, () => new Promise<Authorization>(() => {}));
    expect(new Set(cache.endpointsHeld())).toEqual(new Set([a.id, b.id, c.id]));
    cache.forget(a.id);
    cache.forget(c.id);
    expect([...new Set(cache.endpointsHeld())]).toEqual([b.id]);
    expect(cache.recovering(flightKey(a))).toBeUndefined();
  });
});
