// The token manager over real HTTP and a real store (SQLite, or PostgreSQL in the `postgres`
// project): the sandbox's token endpoint for Salesforce's behaviours (rotation, rotated-out
// tokens that revoke the grant, dead grants, wrong clients), and a small scripted token endpoint
// on loopback for what the sandbox cannot be made to do on cue (an answer lost in transit, a
// concurrent-refresh refusal, a 5xx, expires_in). Token requests go through Herald's own
// outbound `fetch`. A store that refuses writes is a real one: a trigger in its database.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ENDPOINT_OPTIONS, type Endpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { createOutbound, type Outbound } from '../../src/net/outbound.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { credentialLineage } from '../../src/oauth/credential-keys.js';
import { TokenManager } from '../../src/oauth/token-manager.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { SecretBox, generateMasterKey } from '../../src/services/secret-box.js';
import type { Store } from '../../src/store/port.js';
import { eventually } from '../helpers/herald.js';
import { openTestStore, type TestStore } from '../helpers/test-store.js';
import { rotating, startTokenEndpoint, type TokenEndpoint } from '../helpers/token-endpoint.js';

// ---- endpoints ---------------------------------------------------------------------------

function endpoint(o: {
  tokenUrl: string;
  clientId: string;
  grant?: 'REFRESH_TOKEN' | 'CLIENT_CREDENTIALS';
  refreshToken?: string;
  clientSecret?: string;
}): Endpoint {
  const now = Date.now();
  return {
    id: newId('endpoint'),
    accountId: newId('account'),
    origin: null,
    url: 'http://127.0.0.1:9/cb',
    events: ['*'],
    description: null,
    authType: 'OAUTH2',
    authStatus: 'unverified',
    oauth: {
      flavor: 'salesforce',
      grantType: o.grant ?? 'REFRESH_TOKEN',
      tokenUrl: o.tokenUrl,
      clientId: o.clientId,
      scope: null,
      authMechanism: 'BODY',
      customParameters: [],
    },
    secrets: {
      ...(o.refreshToken === undefined ? {} : { refreshToken: o.refreshToken }),
      ...(o.clientSecret === undefined ? {} : { clientSecret: o.clientSecret }),
    },
    customHeaders: [],
    options: DEFAULT_ENDPOINT_OPTIONS,
    state: 'enabled',
    disabledReason: null,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

const generationOf = (a: { ok: boolean; generation?: number }): number =>
  a.ok ? a.generation! : -1;

/** The same store, with its calls counted by method: a view of it, not a change to it. */
function counted(store: Store): { readonly store: Store; readonly calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const view = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof property !== 'string' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(property, (calls.get(property) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: view, calls };
}

describe('TokenManager', () => {
  const box = SecretBox.fromText(generateMasterKey());
  let db: TestStore;
  let store: Store;
  let outbound: Outbound;
  let sandbox: Sandbox | undefined;
  let scripted: TokenEndpoint | undefined;
  let persistFailures: number;

  beforeEach(async () => {
    db = await openTestStore();
    store = db.store;
    outbound = createOutbound({ policy: { allowPrivateNetwork: true, allowedNetworks: [] } });
    persistFailures = 0;
  });
  afterEach(async () => {
    await outbound.close();
    await sandbox?.close();
    await scripted?.close();
    sandbox = undefined;
    scripted = undefined;
    await db.close();
  });

  function manager(
    o: { clock?: () => number; random?: () => number; on?: Store } = {},
  ): TokenManager {
    return new TokenManager({
      store: o.on ?? store,
      box,
      fetch: outbound.fetch,
      logger: silentLogger(),
      metrics: new Metrics(),
      clock: o.clock ?? Date.now,
      random: o.random ?? (() => 0),
      owner: 'test-owner',
      waitPollMs: 20,
      // Tries 60 times: 12 s in which the test lets the store take writes again, even under load.
      persistRetryMs: 200,
      onPersistFailed: () => persistFailures++,
    });
  }

  /** A Salesforce-like org with rotation on, and an endpoint holding one of its grants. */
  async function org(): Promise<{ org: Sandbox; ep: Endpoint; rt0: string }> {
    sandbox = await startSandbox({ rotation: true, tokenLatencyMs: 20 });
    const rt0 = sandbox.issueRefreshToken();
    const ep = endpoint({
      tokenUrl: `${sandbox.url}/services/oauth2/token`,
      clientId: sandbox.connectedApp.clientId,
      refreshToken: rt0,
    });
    return { org: sandbox, ep, rt0 };
  }

  async function storedRefreshToken(ep: Endpoint): Promise<string | undefined> {
    const record = await store.getToken(ep.id);
    return record?.refreshTokenCiphertext ? box.open(record.refreshTokenCiphertext) : undefined;
  }

  it('refreshes once for a hundred concurrent callers, and stores the rotated token', async () => {
    const { org: o, ep, rt0 } = await org();
    const view = counted(store);
    const tokens = manager({ on: view.store });
    const results = await Promise.all(Array.from({ length: 100 }, () => tokens.accessToken(ep)));
    expect(o.stats.tokenRequests).toBe(1);
    // Single flight in this process first: the refresh lock was asked for once, not by each.
    expect(view.calls.get('acquireTokenLock')).toBe(1);
    expect(o.stats.byGrant).toEqual({ refresh_token: 1 });
    const header = results[0]!.ok ? results[0]!.header : '';
    expect(header).toMatch(/^Bearer \S+/);
    expect(results.every((r) => r.ok && r.header === header && r.generation === 1)).toBe(true);
    const record = await store.getToken(ep.id);
    expect(`Bearer ${box.open(record!.accessTokenCiphertext!)}`).toBe(header);
    expect(record!.generation).toBe(1);
    const rotated = await storedRefreshToken(ep);
    expect(rotated).not.toBe(rt0);
    expect(o.stats.isGrantAlive(rotated!)).toBe(true);
    // The stored token is the grant's current one: refreshing with it keeps the grant.
    o.expireAccessTokens();
    expect((await tokens.tokenRejected(ep, 1)).ok).toBe(true);
    expect(o.stats.rotatedOutTokenPresented).toBe(0);
    expect(o.stats.isGrantAlive(rt0)).toBe(true);
  });

  it('keeps a rotated refresh token it could not store, uses it next, and stores it when it can', async () => {
    const { org: o, ep } = await org();
    const tokens = manager();
    await db.refuseTokenWrites(true);
    const first = await tokens.accessToken(ep);
    expect(first.ok).toBe(true);
    expect(persistFailures).toBe(1);
    // Still refused: the store keeps the original, now rotated-out, refresh token (none at all).
    expect(await storedRefreshToken(ep)).toBeUndefined();
    // The next refresh presents the rotated token it kept, not the dead one given at first:
    // presenting that would have revoked the grant.
    const second = await tokens.tokenRejected(ep, generationOf(first));
    expect(second.ok).toBe(true);
    expect(o.stats.tokenRequests).toBe(2);
    expect(o.stats.rotatedOutTokenPresented).toBe(0);
    expect(persistFailures).toBe(2);
    // The store takes writes again: the retry stores the newest token, with no token request.
    await db.refuseTokenWrites(false);
    const stored = await eventually(() => storedRefreshToken(ep), 10_000, 'the rotated token');
    expect(o.stats.isGrantAlive(stored)).toBe(true);
    expect(o.stats.tokenRequests).toBe(2);
    const header = second.ok ? second.header : '';
    const record = await store.getToken(ep.id);
    expect(`Bearer ${box.open(record!.accessTokenCiphertext!)}`).toBe(header);
  });

  it('keeps the grant across a change of client secret, and starts over for a new refresh token', async () => {
    const { org: o, ep } = await org();
    const tokens = manager();
    const first = await tokens.accessToken(ep);
    const rotated = await storedRefreshToken(ep);
    // A client secret added: the same grant, so the rotated token is the one to present.
    const newSecret: Endpoint = {
      ...ep,
      secrets: { ...ep.secrets, clientSecret: o.connectedApp.clientSecret, credentialsSetAt: 2 },
      version: 2,
    };
    o.expireAccessTokens();
    expect((await tokens.tokenRejected(newSecret, generationOf(first))).ok).toBe(true);
    expect(o.stats.rotatedOutTokenPresented).toBe(0);
    const kept = await storedRefreshToken(ep);
    expect(kept).not.toBe(rotated);
    // A new refresh token is a new grant: its token is presented, not the stored one.
    const fresh = o.issueRefreshToken();
    const newGrant: Endpoint = {
      ...ep,
      secrets: { refreshToken: fresh, credentialsSetAt: 3 },
      version: 3,
    };
    expect((await tokens.accessToken(newGrant)).ok).toBe(true);
    expect(o.stats.tokenRequests).toBe(3);
    expect(o.stats.rotatedOutTokenPresented).toBe(0);
    const started = await storedRefreshToken(ep);
    o.revokeGrant(fresh);
    expect(o.stats.isGrantAlive(started!)).toBe(false);
    expect(o.stats.isGrantAlive(kept!)).toBe(true);
  });

  it('lets a dead credential be tried again only when credentials are submitted again', async () => {
    sandbox = await startSandbox();
    const ep = endpoint({
      tokenUrl: `${sandbox.url}/services/oauth2/token`,
      clientId: 'not-this-orgs-app',
      refreshToken: sandbox.issueRefreshToken(),
    });
    const tokens = manager();
    expect(await tokens.accessToken(ep)).toMatchObject({ ok: false, kind: 'terminal' });
    expect(sandbox.stats.tokenErrors).toEqual({ invalid_client_id: 1 });
    // Another change of the endpoint, the same submission: not tried.
    expect(await tokens.accessToken({ ...ep, version: 2 })).toMatchObject({ ok: false });
    expect(sandbox.stats.tokenRequests).toBe(1);
    const resubmitted: Endpoint = {
      ...ep,
      secrets: { ...ep.secrets, credentialsSetAt: 5 },
      version: 3,
    };
    expect(await tokens.accessToken(resubmitted)).toMatchObject({ ok: false, kind: 'terminal' });
    expect(sandbox.stats.tokenRequests).toBe(2);
    // Fixed: the right client id.
    const fixed: Endpoint = {
      ...resubmitted,
      oauth: { ...resubmitted.oauth!, clientId: sandbox.connectedApp.clientId },
      secrets: { ...resubmitted.secrets, credentialsSetAt: 6 },
      version: 4,
    };
    expect((await tokens.accessToken(fixed)).ok).toBe(true);
    expect(sandbox.stats.tokenRequests).toBe(3);
  });

  it('uses the rotated refresh token next time, and keeps the old one when none comes back', async () => {
    const { org: o, ep } = await org();
    const tokens = manager();
    const first = await tokens.accessToken(ep);
    o.expireAccessTokens();
    const second = await tokens.tokenRejected(ep, generationOf(first));
    expect(second.ok).toBe(true);
    expect(o.stats.rotatedOutTokenPresented).toBe(0);
    const beforeNoRotation = await storedRefreshToken(ep);
    o.setRotation(false);
    o.expireAccessTokens();
    const third = await tokens.tokenRejected(ep, generationOf(second));
    expect(third.ok).toBe(true);
    expect(o.stats.tokenRequests).toBe(3);
    expect(o.stats.rotatedOutTokenPresented).toBe(0);
    // No refresh token came back: the one presented stays, with the new access token.
    expect(await storedRefreshToken(ep)).toBe(beforeNoRotation);
    const record = await store.getToken(ep.id);
    expect(`Bearer ${box.open(record!.accessTokenCiphertext!)}`).toBe(third.ok && third.header);
    expect(record!.generation).toBe(3);
  });

  it('adopts a token someone else refreshed instead of refreshing again', async () => {
    const { org: o, ep } = await org();
    const tokens = manager();
    const gen = generationOf(await tokens.accessToken(ep));
    o.expireAccessTokens();
    // Many deliveries got a 401 with generation `gen`: one refresh, then everyone adopts it.
    const after = await Promise.all(
      Array.from({ length: 20 }, () => tokens.tokenRejected(ep, gen)),
    );
    expect(o.stats.tokenRequests).toBe(2);
    expect(after.every((a) => a.ok && a.generation === gen + 1)).toBe(true);
    // A late 401 for the old generation adopts the newer token without a request.
    const late = await tokens.tokenRejected(ep, gen);
    expect(late.ok && late.generation).toBe(gen + 1);
    expect(o.stats.tokenRequests).toBe(2);
    expect(o.stats.maxConcurrentTokenRequests).toBe(1);
  });

  it('answers a burst of 401s for one token with one look at the store and one refresh', async () => {
    const { org: o, ep } = await org();
    const view = counted(store);
    const tokens = manager({ on: view.store });
    const gen = generationOf(await tokens.accessToken(ep));
    o.expireAccessTokens();
    view.calls.clear();
    // Every delivery in flight with the expired token comes back 401 at about the same time, and
    // deliveries starting meanwhile find no cached token: all of them wait for the one recovery.
    const rejected = Array.from({ length: 50 }, () => tokens.tokenRejected(ep, gen));
    const starting = Array.from({ length: 50 }, () => tokens.accessToken(ep));
    const answers = await Promise.all([...rejected, ...starting]);
    const header = answers[0]!.ok ? answers[0]!.header : '';
    expect(answers.every((a) => a.ok && a.header === header && a.generation === gen + 1)).toBe(
      true,
    );
    expect(o.stats.tokenRequests).toBe(2);
    // The first 401's look before the lock, and the re-read under it.
    expect(view.calls.get('getToken')).toBe(2);

    // A 401 for the newer token while nothing is under way starts a new recovery.
    o.expireAccessTokens();
    const again = await tokens.tokenRejected(ep, gen + 1);
    expect(again.ok && again.generation).toBe(gen + 2);
    expect(o.stats.tokenRequests).toBe(3);
  });

  it('knows which tokens a listener refused, for these credentials only', async () => {
    const { org: o, ep } = await org();
    const tokens = manager();
    const gen = generationOf(await tokens.accessToken(ep));
    expect(tokens.refused(ep, gen)).toBe(false);
    o.expireAccessTokens();
    const recovered = tokens.tokenRejected(ep, gen);
    // Refused as soon as the 401 is reported, before the recovery ends: deliveries still
    // waiting for a connection with that token are dropped from then on.
    expect(tokens.refused(ep, gen)).toBe(true);
    expect(tokens.refused(ep, gen - 1)).toBe(true);
    const newer = await recovered;
    expect(newer.ok && newer.generation).toBe(gen + 1);
    expect(tokens.refused(ep, gen + 1)).toBe(false);
    // Credentials submitted again start a new lineage: nothing of it was refused.
    const resubmitted = { ...ep, secrets: { refreshToken: o.issueRefreshToken() } };
    expect(tokens.refused(resubmitted, gen)).toBe(false);
  });

  it('does not answer a 401 with a refresh that began before that token existed', async () => {
    const { org: o, ep, rt0 } = await org();
    const tokens = manager();
    const now = Date.now();
    // Another process holds the refresh lock, so this process's refresh waits for it.
    expect(await store.acquireTokenLock(ep.id, 'other-process', now, now + 60_000)).toBe(true);
    const first = tokens.accessToken(ep);
    // That process refreshes at the org and stores generation 1.
    const response = await fetch(`${o.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: rt0,
        client_id: o.connectedApp.clientId,
      }),
    });
    const theirs = (await response.json()) as { access_token: string; refresh_token: string };
    expect(
      await store.saveToken({
        endpointId: ep.id,
        credentialKey: credentialLineage(ep),
        generation: 1,
        accessTokenCiphertext: box.seal(theirs.access_token),
        refreshTokenCiphertext: box.seal(theirs.refresh_token),
        expiresAt: null,
        refreshAt: null,
        instanceUrl: null,
        deadReason: null,
        deadKey: null,
        updatedAt: now,
      }),
    ).toBe(true);
    // A delivery here uses generation 1, and the listener refuses it.
    const rejected = tokens.tokenRejected(ep, 1);
    // The waiting refresh adopts generation 1: right for its caller, who had none.
    expect(await first).toMatchObject({
      ok: true,
      generation: 1,
      header: `Bearer ${theirs.access_token}`,
    });
    await store.releaseTokenLock(ep.id, 'other-process');
    // The 401 for generation 1 gets a newer token, not generation 1 back, refreshed with the
    // other process's rotated token.
    const newer = await rejected;
    expect(newer).toMatchObject({ ok: true, generation: 2 });
    expect(newer.ok && newer.header).not.toBe(`Bearer ${theirs.access_token}`);
    expect(o.stats.tokenRequests).toBe(2);
    expect(o.stats.rotatedOutTokenPresented).toBe(0);
  });

  it('marks the credential dead on invalid_grant and never sends it again', async () => {
    const { org: o, ep, rt0 } = await org();
    o.revokeGrant(rt0);
    const tokens = manager();
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.accessToken(ep)));
    expect(results.every((r) => !r.ok && r.kind === 'terminal')).toBe(true);
    expect(o.stats.tokenErrors).toEqual({ invalid_grant: 1 });
    await tokens.accessToken(ep);
    await tokens.tokenRejected(ep, 0);
    expect(o.stats.tokenRequests).toBe(1);
    expect((await store.getToken(ep.id))!.deadReason).toMatch(/Reconnect/);
    // A second process sharing the store knows too, without asking.
    expect(await manager().accessToken(ep)).toMatchObject({ ok: false, kind: 'terminal' });
    expect(o.stats.tokenRequests).toBe(1);
    // New credentials are a new credential: tried at once.
    const reconnected = { ...ep, secrets: { refreshToken: o.issueRefreshToken() }, version: 2 };
    expect((await tokens.accessToken(reconnected)).ok).toBe(true);
    expect(o.stats.tokenRequests).toBe(2);
  });

  it('backs off and retries when the server says a refresh is already being processed', async () => {
    scripted = await startTokenEndpoint((form, n) =>
      n === 1
        ? {
            status: 400,
            body: {
              error: 'invalid_grant',
              error_description: 'token request is already being processed',
            },
          }
        : rotating(form, n),
    );
    const ep = endpoint({ tokenUrl: scripted.url, clientId: 'client-1', refreshToken: 'rt-0' });
    const result = await manager({ random: () => 0 }).accessToken(ep);
    expect(result).toMatchObject({ ok: true, header: 'Bearer at-2' });
    expect(scripted.calls.map((c) => c.get('refresh_token'))).toEqual(['rt-0', 'rt-0']);
    // Backed off (500 ms at the lowest) after the refusal before asking again.
    expect(scripted.arrivedAt[1]! - scripted.answeredAt[0]!).toBeGreaterThanOrEqual(500 - 1);
    expect(await storedRefreshToken(ep)).toBe('rt-2');
  });

  it('retries once at once when the answer was lost, then treats invalid_grant as terminal', async () => {
    scripted = await startTokenEndpoint((_form, n) =>
      n === 1
        ? 'hang up'
        : {
            status: 400,
            body: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
          },
    );
    const ep = endpoint({ tokenUrl: scripted.url, clientId: 'client-1', refreshToken: 'rt-0' });
    const result = await manager().accessToken(ep);
    expect(result).toMatchObject({ ok: false, kind: 'terminal' });
    expect(scripted.calls.map((c) => c.get('refresh_token'))).toEqual(['rt-0', 'rt-0']);
  });

  it('treats 5xx and network failures as transient, with a growing wait and no requests meanwhile', async () => {
    scripted = await startTokenEndpoint(() => ({
      status: 503,
      body: { error: 'temporarily_unavailable' },
    }));
    const ep = endpoint({ tokenUrl: scripted.url, clientId: 'client-1', refreshToken: 'rt-0' });
    const tokens = manager();
    const first = await tokens.accessToken(ep);
    expect(first).toMatchObject({ ok: false, kind: 'transient' });
    const again = await tokens.accessToken(ep);
    expect(again).toMatchObject({ ok: false, kind: 'transient' });
    expect(scripted.calls).toHaveLength(1);
    expect(!first.ok && first.retryInMs).toBeGreaterThanOrEqual(800);
    // A token endpoint nobody listens on: transient too, and nothing is marked dead.
    const gone = endpoint({
      tokenUrl: 'http://127.0.0.1:9/services/oauth2/token',
      clientId: 'client-1',
      refreshToken: 'rt-0',
    });
    expect(await tokens.accessToken(gone)).toMatchObject({ ok: false, kind: 'transient' });
    expect((await store.getToken(gone.id))?.deadReason ?? null).toBeNull();
  });

  it('refreshes ahead of expiry when the server sends expires_in', async () => {
    scripted = await startTokenEndpoint((_form, n) => ({
      status: 200,
      body: { access_token: `cc-${n}`, token_type: 'bearer', expires_in: 100 },
    }));
    const ep = endpoint({
      tokenUrl: scripted.url,
      clientId: 'client-1',
      grant: 'CLIENT_CREDENTIALS',
      clientSecret: 's3cret',
    });
    // Herald's clock, moved by the test: 100 s tokens are refreshed 10 s ahead, at 90 s.
    let now = Date.now();
    const tokens = manager({ clock: () => now });
    expect(await tokens.accessToken(ep)).toMatchObject({ ok: true, header: 'Bearer cc-1' });
    expect(scripted.calls[0]!.get('grant_type')).toBe('client_credentials');
    expect(scripted.calls[0]!.get('client_secret')).toBe('s3cret');
    now += 90_000 - 1;
    expect(await tokens.accessToken(ep)).toMatchObject({ ok: true, header: 'Bearer cc-1' });
    expect(scripted.calls).toHaveLength(1);
    now += 1;
    expect(await tokens.accessToken(ep)).toMatchObject({ ok: true, header: 'Bearer cc-2' });
    expect(scripted.calls).toHaveLength(2);
    const record = await store.getToken(ep.id);
    expect(record).toMatchObject({ refreshAt: now + 90_000, expiresAt: now + 100_000 });
    expect(persistFailures).toBe(0);
  });
});
