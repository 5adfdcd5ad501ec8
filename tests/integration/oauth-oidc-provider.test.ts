// Herald's token manager against a real, certified authorization server: `oidc-provider` from npm,
// in-process on loopback, with refresh-token rotation and short token lifetimes.

import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointId } from '../../src/domain/ids.js';
import { SecretBox } from '../../src/services/secret-box.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import {
  startBearerListener,
  startOidcProvider,
  type BearerListener,
  type TestOidcProvider,
  type TokenRequestRecord,
} from '../helpers/oidc-provider.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every delivery of the account with this status (follows the cursor). */
async function deliveries(herald: TestHerald, query: string): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const page = await herald.api(
      'GET',
      `/v1/deliveries?${query}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.status, page.text).toBe(200);
    all.push(...(page.body.data as any[]));
    cursor = page.body.next as string | null;
  } while (cursor);
  return all;
}

/** Publishes `perTick` events every `everyMs` for `forMs`; returns the event ids. */
async function publishFor(
  herald: TestHerald,
  name: string,
  forMs: number,
  everyMs: number,
  perTick = 1,
): Promise<string[]> {
  const ids: string[] = [];
  const end = Date.now() + forMs;
  let n = 0;
  while (Date.now() < end) {
    const batch = Array.from({ length: perTick }, () => ({ name, packageId: `pkg-${n++}` }));
    const res = await herald.api('POST', '/v1/events', perTick === 1 ? batch[0] : batch);
    expect(res.status, res.text).toBe(202);
    ids.push(...(perTick === 1 ? [res.body.id as string] : (res.body.ids as string[])));
    await sleep(everyMs);
  }
  return ids;
}

async function allDelivered(listener: BearerListener, ids: string[], timeoutMs = 20_000) {
  await eventually(
    () => {
      const seen = listener.acceptedEventIds();
      return ids.every((id) => seen.has(id)) ? true : undefined;
    },
    timeoutMs,
    `${ids.length} events accepted by the listener`,
  );
}

/**
 * Token requests the deliveries needed at the least: they ran for `spanMs` and every one was
 * accepted with a valid token, which lives `ttl` seconds (plus up to a second the provider,
 * aligned to whole seconds, may keep a request waiting).
 */
function fewestTokenRequests(spanMs: number, ttl: number): number {
  return Math.max(2, Math.floor(spanMs / ((ttl + 1) * 1000)));
}

/**
 * Token requests made before the token they replaced was due (Herald refreshes 10 % of a
 * lifetime ahead of expiry, counted from when it received the token). Each one needs a reason:
 * a token the listener refused.
 */
function earlyRefreshes(requests: readonly TokenRequestRecord[]): number {
  let early = 0;
  for (let i = 1; i < requests.length; i++) {
    const previous = requests[i - 1]!;
    const due = previous.endedAt + 0.9 * (previous.expiresIn ?? 0) * 1000;
    if (requests[i]!.startedAt < due - 1) early++;
  }
  return early;
}

describe('OAuth against oidc-provider (a certified authorization server)', () => {
  let herald: TestHerald | undefined;
  let oidc: TestOidcProvider | undefined;
  let listener: BearerListener | undefined;
  afterEach(async () => {
    await herald?.close();
    await listener?.close();
    await oidc?.close();
    herald = undefined;
    listener = undefined;
    oidc = undefined;
  });

  it('refresh-token grant, client_secret_basic (HEADER), rotation: refreshes once per lifetime, one at a time, the grant alive', async () => {
    const ttl = 2;
    oidc = await startOidcProvider({ accessTokenTtlSeconds: ttl, tokenLatencyMs: 20 });
    listener = await startBearerListener(oidc);
    const masterKey = randomBytes(32).toString('base64');
    herald = await startTestHerald({ HERALD_MASTER_KEY: masterKey });
    const client = oidc.clients.basic;
    const refreshToken = await oidc.mintRefreshToken(client);

    const created = await herald.api('POST', '/v1/endpoints', {
      url: `${listener.url}/hooks/herald`,
      events: ['DOCUMENT_SIGNED'],
      auth: {
        type: 'OAUTH2',
        grantType: 'REFRESH_TOKEN',
        tokenUrl: oidc.tokenUrl,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        refreshToken,
        authMechanism: 'HEADER',
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.text).not.toContain(refreshToken);
    expect(created.text).not.toContain(client.clientSecret);
    const endpointId = created.body.id as string;

    // One event every 100 ms for five access-token lifetimes.
    const ids = await publishFor(herald, 'DOCUMENT_SIGNED', 5 * ttl * 1000, 100);
    await allDelivered(listener, ids);

    const stats = oidc.stats;
    const accepted = listener.accepted;
    const spanMs = accepted.at(-1)!.at - accepted[0]!.at;
    const fewest = fewestTokenRequests(spanMs, ttl);
    console.log(
      'oidc-provider refresh (basic):',
      JSON.stringify({
        events: ids.length,
        spanMs,
        tokenRequests: stats.requests.length,
        fewest,
        listener401: listener.rejected.length,
        maxInFlight: stats.maxInFlight,
      }),
    );

    // Every event arrived with a token the provider called valid (the listener accepts no other).
    expect(new Set(accepted.map((a) => a.eventId))).toEqual(new Set(ids));
    const issued = new Set(stats.requests.map((r) => r.accessToken));
    expect(accepted.every((a) => issued.has(a.token))).toBe(true);
    // Refreshed ahead of expiry from expires_in: no token was presented after it died.
    expect(listener.rejected.length).toBeLessThanOrEqual(1);
    // About one token request per lifetime, each one a refresh-token grant with HTTP Basic.
    expect(stats.byGrant()).toEqual({ refresh_token: stats.requests.length });
    expect(stats.byAuthMethod()).toEqual({ client_secret_basic: stats.requests.length });
    expect(stats.requests.length).toBeGreaterThanOrEqual(fewest);
    // And no more than needed: none before the previous token was due, but for a refused one.
    expect(earlyRefreshes(stats.requests)).toBeLessThanOrEqual(listener.rejected.length);
    expect(stats.requests.every((r) => r.status === 200 && r.expiresIn === ttl)).toBe(true);
    // Never two token requests at once; rotation never broke the grant.
    expect(stats.maxInFlight).toBe(1);
    expect(stats.errors()).toEqual({});
    expect(stats.serverErrors).toEqual([]);

    expect((await deliveries(herald, 'status=failed')).length).toBe(0);
    // The listener has every event; the last results may still be on their way to the store.
    const running = herald;
    const succeeded = await eventually(
      async () => {
        const done = await deliveries(running, `endpoint=${endpointId}&status=succeeded`);
        return done.length === ids.length ? done : undefined;
      },
      10_000,
      'every delivery recorded as succeeded',
    );
    expect(succeeded).toHaveLength(ids.length);
    expect(succeeded.every((d) => d.attemptCount === 1)).toBe(true);
    const endpoint = (await herald.api('GET', `/v1/endpoints/${endpointId}`)).body;
    expect(endpoint.auth).toMatchObject({ type: 'OAUTH2', status: 'ok', authMechanism: 'HEADER' });

    // The refresh token Herald stored is the newest one the provider issued, and it still works.
    const record = await herald.store.getToken(endpointId as EndpointId);
    expect(record?.refreshTokenCiphertext).toBeTruthy();
    const stored = SecretBox.fromText(masterKey).open(record!.refreshTokenCiphertext!);
    expect(stored).toBe(oidc.lastIssuedRefreshToken());
    expect(await oidc.refreshTokenState(refreshToken)).toBe('consumed');
    expect(await oidc.refreshTokenState(stored)).toBe('active');
    await herald.close();
    herald = undefined;
    const after = await oidc.refreshDirectly(client, stored);
    expect(after.status, JSON.stringify(after.body)).toBe(200);
  }, 60_000);

  it('refresh-token grant, client_secret_post (BODY), registered through OneSpan POST /api/callback', async () => {
    const ttl = 2;
    oidc = await startOidcProvider({ accessTokenTtlSeconds: ttl });
    listener = await startBearerListener(oidc);
    herald = await startTestHerald();
    const client = oidc.clients.post;
    const refreshToken = await oidc.mintRefreshToken(client);

    const reg = await herald.api('POST', '/api/callback', {
      url: `${listener.url}/callback`,
      events: ['PACKAGE_COMPLETE'],
      authType: 'OAUTH2',
      oauthSetting: {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        authorizationServerUrl: oidc.tokenUrl,
        scope: null,
        grantType: 'REFRESH_TOKEN',
        refreshToken,
        authMechanism: 'BODY',
        customParameters: [],
      },
    });
    expect(reg.status, reg.text).toBe(200);
    expect(reg.body.oauthSetting).toMatchObject({
      clientId: client.clientId,
      authorizationServerUrl: oidc.tokenUrl,
      grantType: 'REFRESH_TOKEN',
      authMechanism: 'BODY',
    });
    expect(reg.text).not.toContain(refreshToken);
    expect(reg.text).not.toContain(client.clientSecret);

    // Two bursts more than a lifetime apart: the second needs a refresh with the rotated token.
    const first = await publishFor(herald, 'PACKAGE_COMPLETE', 300, 100);
    await allDelivered(listener, first);
    await sleep(ttl * 1000 + 200);
    const second = await publishFor(herald, 'PACKAGE_COMPLETE', 300, 100);
    await allDelivered(listener, second);

    const stats = oidc.stats;
    expect(stats.requests.length).toBeGreaterThanOrEqual(2);
    // The provider saw the client authenticate with client_secret in the body, every time.
    expect(stats.byAuthMethod()).toEqual({ client_secret_post: stats.requests.length });
    expect(
      stats.requests.every(
        (r) =>
          r.clientId === client.clientId && r.status === 200 && r.grantType === 'refresh_token',
      ),
    ).toBe(true);
    expect(stats.errors()).toEqual({});
    expect(listener.rejected.length).toBeLessThanOrEqual(1);
    expect((await deliveries(herald, 'status=failed')).length).toBe(0);
    const [endpoint] = (await herald.api('GET', '/v1/endpoints')).body.data;
    expect(endpoint.auth).toMatchObject({ status: 'ok', authMechanism: 'BODY' });
  }, 30_000);

  it('client-credentials grant (HEADER, scope api) through OneSpan POST /api/callback: concurrent deliveries, one token request per lifetime, never two at once', async () => {
    const ttl = 2;
    oidc = await startOidcProvider({ clientCredentialsTtlSeconds: ttl, tokenLatencyMs: 20 });
    listener = await startBearerListener(oidc, { delayMs: 25 });
    herald = await startTestHerald();
    const client = oidc.clients.basic;

    const reg = await herald.api('POST', '/api/callback', {
      url: `${listener.url}/callback`,
      events: ['SIGNER_COMPLETE'],
      authType: 'OAUTH2',
      oauthSetting: {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        authorizationServerUrl: oidc.tokenUrl,
        scope: 'api',
        grantType: 'CLIENT_CREDENTIALS',
        authMechanism: 'HEADER',
      },
    });
    expect(reg.status, reg.text).toBe(200);

    // Batches of 16 every 250 ms for four lifetimes: many deliveries in flight at each expiry.
    const ids = await publishFor(herald, 'SIGNER_COMPLETE', 4 * ttl * 1000, 250, 16);
    await allDelivered(listener, ids, 30_000);

    const stats = oidc.stats;
    const accepted = listener.accepted;
    const spanMs = accepted.at(-1)!.at - accepted[0]!.at;
    const fewest = fewestTokenRequests(spanMs, ttl);
    console.log(
      'oidc-provider client credentials:',
      JSON.stringify({
        events: ids.length,
        spanMs,
        tokenRequests: stats.requests.length,
        fewest,
        listener401: listener.rejected.length,
        listenerMaxConcurrent: listener.maxConcurrent,
        maxInFlight: stats.maxInFlight,
      }),
    );
    expect(listener.maxConcurrent).toBeGreaterThan(1);
    expect(stats.byGrant()).toEqual({ client_credentials: stats.requests.length });
    expect(stats.byAuthMethod()).toEqual({ client_secret_basic: stats.requests.length });
    expect(stats.requests.every((r) => r.scope === 'api' && r.status === 200)).toBe(true);
    expect(stats.requests.length).toBeGreaterThanOrEqual(fewest);
    // And no more than needed: none before the previous token was due, but for a refused one.
    expect(earlyRefreshes(stats.requests)).toBeLessThanOrEqual(listener.rejected.length);
    expect(stats.maxInFlight).toBe(1);
    expect(listener.rejected.length).toBeLessThanOrEqual(1);
    expect((await deliveries(herald, 'status=failed')).length).toBe(0);
  }, 60_000);

  describe('a listener 401 with WWW-Authenticate: Bearer error="invalid_token" → one new token, resent, one attempt', () => {
    async function deliverAfterRevocation(
      kind: 'refresh' | 'client_credentials',
      revoke: (o: TestOidcProvider, token: string) => Promise<void>,
    ) {
      oidc = await startOidcProvider({
        accessTokenTtlSeconds: 60,
        clientCredentialsTtlSeconds: 60,
      });
      listener = await startBearerListener(oidc);
      herald = await startTestHerald();
      const client = oidc.clients.basic;
      const created = await herald.api('POST', '/v1/endpoints', {
        url: `${listener.url}/hooks`,
        events: ['PACKAGE_COMPLETE'],
        auth:
          kind === 'refresh'
            ? {
                type: 'OAUTH2',
                grantType: 'REFRESH_TOKEN',
                tokenUrl: oidc.tokenUrl,
                clientId: client.clientId,
                clientSecret: client.clientSecret,
                refreshToken: await oidc.mintRefreshToken(client),
                authMechanism: 'HEADER',
              }
            : {
                type: 'OAUTH2',
                grantType: 'CLIENT_CREDENTIALS',
                tokenUrl: oidc.tokenUrl,
                clientId: client.clientId,
                clientSecret: client.clientSecret,
                scope: 'api',
                authMechanism: 'HEADER',
              },
      });
      expect(created.status, created.text).toBe(201);

      const before = await herald.api('POST', '/v1/events', {
        name: 'PACKAGE_COMPLETE',
        packageId: 'before',
      });
      await allDelivered(listener, [before.body.id as string]);
      const oldToken = listener.accepted[0]!.token;
      expect(oidc.stats.requests).toHaveLength(1);

      await revoke(oidc, oldToken);
      expect(await oidc.isAccessTokenValid(oldToken)).toBe(false);
      expect((await oidc.introspect(oldToken)).active).toBe(false);

      const after = await herald.api('POST', '/v1/events', {
        name: 'PACKAGE_COMPLETE',
        packageId: 'after',
      });
      const eventId = after.body.id as string;
      await allDelivered(listener, [eventId]);

      // The listener refused the revoked token once, then accepted a new one.
      expect(listener.rejected).toHaveLength(1);
      expect(listener.rejected[0]).toMatchObject({ token: oldToken, eventId });
      const resent = listener.accepted.find((a) => a.eventId === eventId)!;
      expect(resent.token).not.toBe(oldToken);
      expect(oidc.stats.requests).toHaveLength(2);
      expect(oidc.stats.maxInFlight).toBe(1);
      expect(oidc.stats.errors()).toEqual({});

      const event = (await herald.api('GET', `/v1/events/${eventId}`)).body;
      const deliveryId = event.deliveries[0].id as string;
      const delivery = await eventually(async () => {
        const d = (await herald!.api('GET', `/v1/deliveries/${deliveryId}`)).body;
        return d.status === 'succeeded' ? d : undefined;
      });
      expect(delivery.attemptCount).toBe(1);
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]).toMatchObject({
        number: 1,
        trigger: 'token_refresh',
        statusCode: 200,
        outcome: 'success',
      });
    }

    it('refresh-token grant: the access token destroyed at the provider (the grant kept)', async () => {
      await deliverAfterRevocation('refresh', async (o, token) => {
        expect(await o.destroyAccessToken(token)).toBe(true);
      });
      // The grant survived: the rotated refresh token is the one in use.
      expect(await oidc!.refreshTokenState(oidc!.lastIssuedRefreshToken()!)).toBe('active');
    }, 30_000);

    it('client-credentials grant: the access token revoked through the RFC 7009 endpoint', async () => {
      await deliverAfterRevocation('client_credentials', async (o, token) => {
        expect(await o.revoke(token)).toBe(200);
      });
    }, 30_000);
  });

  describe('credentials the provider refuses: reauthorization_required, held, never failed', () => {
    async function expectParked(expectedError: string) {
      const herald_ = herald!;
      await herald_.api(
        'POST',
        '/v1/events',
        Array.from({ length: 5 }, (_, i) => ({ name: 'PACKAGE_COMPLETE', packageId: `p-${i}` })),
      );
      const endpoint = await eventually(
        async () => {
          const e = (await herald_.api('GET', '/v1/endpoints')).body.data[0];
          return e.auth.status === 'reauthorization_required' ? e : undefined;
        },
        10_000,
        'reauthorization_required',
      );
      await eventually(
        async () =>
          (await deliveries(herald_, `endpoint=${endpoint.id}&status=held`)).length === 5
            ? true
            : undefined,
        10_000,
        '5 held deliveries',
      );
      // Time for several retry steps (100 ms each): nothing is attempted, nothing fails.
      await sleep(1500);
      expect(await deliveries(herald_, 'status=failed')).toEqual([]);
      expect(await deliveries(herald_, `endpoint=${endpoint.id}&status=held`)).toHaveLength(5);
      expect(listener!.accepted.length + listener!.rejected.length).toBe(0);
      const stats = oidc!.stats;
      expect(stats.requests.length).toBeGreaterThanOrEqual(1);
      expect(stats.requests.length).toBeLessThanOrEqual(2);
      expect(stats.requests.every((r) => r.error === expectedError)).toBe(true);
      const ops = (await herald_.api('GET', '/v1/operational-events')).body.data as {
        type: string;
      }[];
      expect(ops.some((e) => e.type === 'endpoint.reauthorization_required')).toBe(true);
    }

    it('a wrong client secret (invalid_client)', async () => {
      oidc = await startOidcProvider();
      listener = await startBearerListener(oidc);
      herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '100ms,100ms,100ms' });
      const client = oidc.clients.basic;
      const refreshToken = await oidc.mintRefreshToken(client);
      const created = await herald.api('POST', '/v1/endpoints', {
        url: `${listener.url}/hooks`,
        events: ['PACKAGE_COMPLETE'],
        auth: {
          type: 'OAUTH2',
          grantType: 'REFRESH_TOKEN',
          tokenUrl: oidc.tokenUrl,
          clientId: client.clientId,
          clientSecret: `${client.clientSecret}-wrong`,
          refreshToken,
          authMechanism: 'HEADER',
        },
      });
      expect(created.status, created.text).toBe(201);
      await expectParked('invalid_client');
      // The client was refused before the refresh token was looked at: it is still good.
      expect(await oidc.refreshTokenState(refreshToken)).toBe('active');
    }, 30_000);

    it('a refresh token revoked at the provider (invalid_grant)', async () => {
      oidc = await startOidcProvider();
      listener = await startBearerListener(oidc);
      herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '100ms,100ms,100ms' });
      const client = oidc.clients.post;
      const refreshToken = await oidc.mintRefreshToken(client);
      expect(await oidc.revoke(refreshToken, client)).toBe(200);
      const created = await herald.api('POST', '/v1/endpoints', {
        url: `${listener.url}/hooks`,
        events: ['PACKAGE_COMPLETE'],
        auth: {
          type: 'OAUTH2',
          grantType: 'REFRESH_TOKEN',
          tokenUrl: oidc.tokenUrl,
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          refreshToken,
          authMechanism: 'BODY',
        },
      });
      expect(created.status, created.text).toBe(201);
      await expectParked('invalid_grant');
    }, 30_000);
  });
});
