// The token manager against a scripted token endpoint and a real SQLite store: single flight,
// persist-before-use, generation adoption, concurrent-refresh back-off, ambiguous answers.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ENDPOINT_OPTIONS, type Endpoint } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { credentialLineage, refreshAheadAt } from '../../src/oauth/credential-keys.js';
import { TokenManager } from '../../src/oauth/token-manager.js';
import { SecretBox, generateMasterKey } from '../../src/services/secret-box.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

type Script = (body: URLSearchParams, n: number) => Promise<Response> | Response;

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function endpoint(
  grant: 'REFRESH_TOKEN' | 'CLIENT_CREDENTIALS' = 'REFRESH_TOKEN',
  refreshToken = 'rt-0',
): Endpoint {
  const now = Date.now();
  return {
    id: newId('endpoint'),
    accountId: newId('account'),
    origin: null,
    url: 'https://listener.example/cb',
    events: ['*'],
    description: null,
    authType: 'OAUTH2',
    authStatus: 'unverified',
    oauth: {
      flavor: 'salesforce',
      grantType: grant,
      tokenUrl: 'https://login.example/services/oauth2/token',
      clientId: 'client-1',
      scope: null,
      authMechanism: 'BODY',
      customParameters: [],
    },
    secrets: grant === 'REFRESH_TOKEN' ? { refreshToken } : { clientSecret: 's3cret' },
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

describe('TokenManager', () => {
  let dir: string;
  let store: SqliteStore;
  const box = SecretBox.fromText(generateMasterKey());
  let calls: URLSearchParams[];
  let inFlight: number;
  let maxInFlight: number;
  let persistFailures: number;

  function manager(script: Script, overrides: { random?: () => number } = {}): TokenManager {
    const fetchImpl = (async (_url: string, init?: RequestInit) => {
      const body = new URLSearchParams(String(init?.body ?? ''));
      calls.push(body);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 10));
        return await script(body, calls.length);
      } finally {
        inFlight--;
      }
    }) as typeof fetch;
    return new TokenManager({
      store,
      box,
      fetch: fetchImpl,
      logger: silentLogger(),
      metrics: new Metrics(),
      clock: Date.now,
      random: overrides.random ?? (() => 0),
      owner: 'test-owner',
      persistRetryMs: 20,
      onPersistFailed: () => persistFailures++,
    });
  }

  const rotating: Script = (body, n) =>
    json(200, {
      access_token: `at-${n}`,
      refresh_token: `rt-${n}`,
      token_type: 'Bearer',
      instance_url: 'https://x',
      issued_at: String(Date.now()),
      signature: `sig-${body.get('client_id')}`,
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-tokens-'));
    store = new SqliteStore({ path: join(dir, 'h.db'), synchronous: 'normal' });
    await store.migrate();
    calls = [];
    inFlight = 0;
    maxInFlight = 0;
    persistFailures = 0;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refreshes once for a hundred concurrent callers, and stores the rotated token', async () => {
    const ep = endpoint();
    const tokens = manager(rotating);
    const results = await Promise.all(Array.from({ length: 100 }, () => tokens.accessToken(ep)));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.get('grant_type')).toBe('refresh_token');
    expect(calls[0]!.get('refresh_token')).toBe('rt-0');
    expect(calls[0]!.get('client_id')).toBe('client-1');
    expect(results.every((r) => r.ok && r.header === 'Bearer at-1')).toBe(true);
    const record = await store.getToken(ep.id);
    expect(box.open(record!.refreshTokenCiphertext!)).toBe('rt-1');
    expect(box.open(record!.accessTokenCiphertext!)).toBe('at-1');
    expect(record!.generation).toBe(1);
  });

  it('keeps a rotated refresh token it could not store, uses it next, and stores it when it can', async () => {
    const ep = endpoint();
    const tokens = manager(rotating);
    const save = store.saveToken.bind(store);
    let failures = 2;
    store.saveToken = async (record) => {
      if (failures-- > 0) throw new Error('disk full');
      return save(record);
    };
    const first = await tokens.accessToken(ep);
    expect(first.ok).toBe(true);
    expect(persistFailures).toBe(1);
    // The next refresh presents the rotated token (rt-1), not the dead one still stored (rt-0).
    await tokens.tokenRejected(ep, first.ok ? first.generation : 0);
    expect(calls.map((c) => c.get('refresh_token'))).toEqual(['rt-0', 'rt-1']);
    // Stored by a retry a moment later.
    let record = await store.getToken(ep.id);
    for (let i = 0; i < 50 && !record?.refreshTokenCiphertext; i++) {
      await new Promise((r) => setTimeout(r, 20));
      record = await store.getToken(ep.id);
    }
    expect(box.open(record!.refreshTokenCiphertext!)).toBe('rt-2');
  });

  it('keeps the grant across a change of client secret, and starts over for a new refresh token', async () => {
    const ep = endpoint();
    const tokens = manager(rotating);
    await tokens.accessToken(ep);
    const newSecret: Endpoint = {
      ...ep,
      secrets: { ...ep.secrets, clientSecret: 's2', credentialsSetAt: 2 },
      version: 2,
    };
    await tokens.tokenRejected(newSecret, 1);
    expect(calls[1]!.get('refresh_token')).toBe('rt-1');
    expect(calls[1]!.get('client_secret')).toBe('s2');
    const newGrant: Endpoint = {
      ...ep,
      secrets: { refreshToken: 'rt-fresh', credentialsSetAt: 3 },
      version: 3,
    };
    await tokens.accessToken(newGrant);
    expect(calls[2]!.get('refresh_token')).toBe('rt-fresh');
  });

  it('lets a dead credential be tried again only when credentials are submitted again', async () => {
    const ep = endpoint();
    let dead = true;
    const tokens = manager((body, n) =>
      dead
        ? json(400, { error: 'invalid_client_id', error_description: 'client identifier invalid' })
        : rotating(body, n),
    );
    expect((await tokens.accessToken(ep)).ok).toBe(false);
    expect((await tokens.accessToken({ ...ep, version: 2 })).ok).toBe(false); // another change, same submission
    expect(calls).toHaveLength(1);
    dead = false;
    const resubmitted: Endpoint = {
      ...ep,
      secrets: { ...ep.secrets, credentialsSetAt: 5 },
      version: 3,
    };
    expect((await tokens.accessToken(resubmitted)).ok).toBe(true);
    expect(calls).toHaveLength(2);
  });

  it('uses the rotated refresh token next time, and keeps the old one when none comes back', async () => {
    const ep = endpoint();
    let rotate = true;
    const tokens = manager((body, n) =>
      rotate ? rotating(body, n) : json(200, { access_token: `at-${n}`, token_type: 'Bearer' }),
    );
    const first = await tokens.accessToken(ep);
    expect(first.ok).toBe(true);
    const second = await tokens.tokenRejected(ep, first.ok ? first.generation : 0);
    expect(calls[1]!.get('refresh_token')).toBe('rt-1');
    rotate = false;
    await tokens.tokenRejected(ep, second.ok ? second.generation : 0);
    expect(calls[2]!.get('refresh_token')).toBe('rt-2');
    const record = await store.getToken(ep.id);
    expect(box.open(record!.refreshTokenCiphertext!)).toBe('rt-2');
    expect(box.open(record!.accessTokenCiphertext!)).toBe('at-3');
  });

  it('adopts a token someone else refreshed instead of refreshing again', async () => {
    const ep = endpoint();
    const tokens = manager(rotating);
    const first = await tokens.accessToken(ep);
    const gen = first.ok ? first.generation : -1;
    // Many deliveries got a 401 with generation `gen`: one refresh, then everyone adopts it.
    const after = await Promise.all(
      Array.from({ length: 20 }, () => tokens.tokenRejected(ep, gen)),
    );
    expect(calls).toHaveLength(2);
    expect(after.every((a) => a.ok && a.generation === gen + 1)).toBe(true);
    // A late 401 for the old generation adopts the newer token without a request.
    const late = await tokens.tokenRejected(ep, gen);
    expect(late.ok && late.generation).toBe(gen + 1);
    expect(calls).toHaveLength(2);
  });

  it('answers a burst of 401s for one token with one look at the store and one refresh', async () => {
    const ep = endpoint();
    const tokens = manager(rotating);
    const first = await tokens.accessToken(ep);
    const gen = first.ok ? first.generation : -1;
    const read = store.getToken.bind(store);
    let reads = 0;
    store.getToken = (id) => {
      reads++;
      return read(id);
    };
    // Every delivery in flight with the expired token comes back 401 at about the same time, and
    // deliveries starting meanwhile find no cached token: all of them wait for the one recovery.
    const rejected = Array.from({ length: 50 }, () => tokens.tokenRejected(ep, gen));
    const starting = Array.from({ length: 50 }, () => tokens.accessToken(ep));
    const answers = await Promise.all([...rejected, ...starting]);
    expect(answers.every((a) => a.ok && a.header === 'Bearer at-2')).toBe(true);
    expect(calls).toHaveLength(2);
    // The first 401's look before the lock, and the re-read under it.
    expect(reads).toBe(2);

    // A 401 for the newer token while nothing is under way starts a new recovery.
    const again = await tokens.tokenRejected(ep, gen + 1);
    expect(again.ok && again.header).toBe('Bearer at-3');
    expect(calls).toHaveLength(3);
  });

  it('knows which tokens a listener refused, for these credentials only', async () => {
    const ep = endpoint();
    const tokens = manager(rotating);
    const first = await tokens.accessToken(ep);
    const gen = first.ok ? first.generation : -1;
    expect(tokens.refused(ep, gen)).toBe(false);
    const recovered = tokens.tokenRejected(ep, gen);
    // Refused as soon as the 401 is reported, before the recovery ends: deliveries still
    // waiting for a connection with that token are dropped from then on.
    expect(tokens.refused(ep, gen)).toBe(true);
    expect(tokens.refused(ep, gen - 1)).toBe(true);
    const newer = await recovered;
    expect(newer.ok && newer.generation).toBe(gen + 1);
    expect(tokens.refused(ep, gen + 1)).toBe(false);
    // Credentials submitted again start a new lineage: nothing of it was refused.
    const resubmitted = { ...ep, secrets: { refreshToken: 'rt-new' } };
    expect(tokens.refused(resubmitted, gen)).toBe(false);
  });

  it('does not answer a 401 with a refresh that began before that token existed', async () => {
    const ep = endpoint();
    const tokens = manager(rotating);
    const now = Date.now();
    // Another process holds the refresh lock, so this process's refresh waits for it.
    expect(await store.acquireTokenLock(ep.id, 'other-process', now, now + 60_000)).toBe(true);
    const first = tokens.accessToken(ep);
    await new Promise((r) => setTimeout(r, 20));
    // The other process stores generation 1; a delivery here uses it, and the listener refuses it.
    expect(
      await store.saveToken({
        endpointId: ep.id,
        credentialKey: credentialLineage(ep),
        generation: 1,
        accessTokenCiphertext: box.seal('at-other'),
        refreshTokenCiphertext: box.seal('rt-other'),
        expiresAt: null,
        refreshAt: null,
        instanceUrl: null,
        deadReason: null,
        deadKey: null,
        updatedAt: now,
      }),
    ).toBe(true);
    const rejected = tokens.tokenRejected(ep, 1);
    // The waiting refresh adopts generation 1: right for its caller, who had none.
    expect(await first).toMatchObject({ ok: true, generation: 1, header: 'Bearer at-other' });
    await store.releaseTokenLock(ep.id, 'other-process');
    // The 401 for generation 1 gets a newer token, not generation 1 back.
    expect(await rejected).toMatchObject({ ok: true, generation: 2, header: 'Bearer at-1' });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.get('refresh_token')).toBe('rt-other');
  });

  it('backs off and retries when the server says a refresh is already being processed', async () => {
    const ep = endpoint();
    const tokens = manager((body, n) =>
      n === 1
        ? json(400, {
            error: 'invalid_grant',
            error_description: 'token request is already being processed',
          })
        : rotating(body, n),
    );
    const started = Date.now();
    const result = await tokens.accessToken(ep);
    expect(result.ok).toBe(true);
    expect(calls).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('marks the credential dead on invalid_grant and never sends it again', async () => {
    const ep = endpoint();
    const tokens = manager(() =>
      json(400, { error: 'invalid_grant', error_description: 'expired access/refresh token' }),
    );
    const results = await Promise.all(Array.from({ length: 10 }, () => tokens.accessToken(ep)));
    expect(results.every((r) => !r.ok && r.kind === 'terminal')).toBe(true);
    expect(calls).toHaveLength(1);
    await tokens.accessToken(ep);
    await tokens.tokenRejected(ep, 0);
    expect(calls).toHaveLength(1);
    expect((await store.getToken(ep.id))!.deadReason).toMatch(/Reconnect/);
    // New credentials are a new credential: tried at once.
    const reconnected = { ...ep, secrets: { refreshToken: 'rt-new' }, version: 2 };
    await tokens.accessToken(reconnected);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.get('refresh_token')).toBe('rt-new');
  });

  it('retries once at once when the answer was lost, then treats invalid_grant as terminal', async () => {
    const ep = endpoint();
    const tokens = manager((_body, n) => {
      if (n === 1) throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
      return json(400, {
        error: 'invalid_grant',
        error_description: 'expired access/refresh token',
      });
    });
    const result = await tokens.accessToken(ep);
    expect(calls).toHaveLength(2);
    expect(result.ok || result.kind).toBe('terminal');
  });

  it('treats 5xx and network failures as transient, with a growing wait and no requests meanwhile', async () => {
    const ep = endpoint();
    const tokens = manager(() => json(503, { error: 'temporarily_unavailable' }));
    const first = await tokens.accessToken(ep);
    expect(first.ok || first.kind).toBe('transient');
    const again = await tokens.accessToken(ep);
    expect(again.ok || again.kind).toBe('transient');
    expect(calls).toHaveLength(1);
    expect(!first.ok && first.retryInMs).toBeGreaterThanOrEqual(800);
  });

  it('refreshes ahead of expiry when the server sends expires_in', async () => {
    expect(refreshAheadAt(0, 3600)).toBe(3600_000 - 60_000);
    expect(refreshAheadAt(0, 100)).toBe(90_000);
    const ep = endpoint('CLIENT_CREDENTIALS');
    const tokens = manager((_b, n) =>
      json(200, { access_token: `cc-${n}`, token_type: 'bearer', expires_in: 1 }),
    );
    const a = await tokens.accessToken(ep);
    expect(a.ok && a.header).toBe('Bearer cc-1');
    expect(calls[0]!.get('grant_type')).toBe('client_credentials');
    expect(calls[0]!.get('client_secret')).toBe('s3cret');
    await new Promise((r) => setTimeout(r, 950));
    const b = await tokens.accessToken(ep);
    expect(b.ok && b.header).toBe('Bearer cc-2');
    expect(maxInFlight).toBe(1);
    expect(persistFailures).toBe(0);
  });
});
