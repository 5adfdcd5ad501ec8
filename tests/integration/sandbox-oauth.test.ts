// The sandbox org over real HTTP on loopback: the Salesforce OAuth behaviours Herald's token
// manager must survive (no expires_in, rotation with replay detection, concurrent refresh,
// revocation, approval limits) and the Web Server flow driven with plain HTTP requests.

import { createHash, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createSandbox,
  startSandbox,
  type Sandbox,
  type SandboxOptions,
} from '../../src/sandbox/index.js';

const SESSION_INVALID =
  '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]';

const open: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((sb) => sb.close()));
});

async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const sb = await startSandbox({ ...options, port: 0 });
  open.push(sb);
  return sb;
}

function post(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
    redirect: 'manual',
  });
}

type TokenBody = Record<string, unknown>;

async function token(
  sb: Sandbox,
  params: Record<string, string>,
  headers?: Record<string, string>,
): Promise<{ status: number; body: TokenBody }> {
  const res = await post(`${sb.url}/services/oauth2/token`, params, headers);
  return { status: res.status, body: (await res.json()) as TokenBody };
}

const refresh = (sb: Sandbox, refreshToken: string, extra: Record<string, string> = {}) =>
  token(sb, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: sb.connectedApp.clientId,
    ...extra,
  });

const basic = (sb: Sandbox) =>
  `Basic ${Buffer.from(`${sb.connectedApp.clientId}:${sb.connectedApp.clientSecret}`).toString('base64')}`;

function deliver(sb: Sandbox, accessToken: string, body = '{"name":"PACKAGE_COMPLETE"}') {
  return fetch(`${sb.url}/services/apexrest/herald/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body,
  });
}

const expectError = (
  result: { status: number; body: TokenBody },
  error: string,
  description?: string,
) => {
  expect(result.status).toBe(400);
  expect(result.body.error).toBe(error);
  if (description !== undefined) expect(result.body.error_description).toBe(description);
};

describe('refresh token flow', () => {
  it('rotates: new refresh token each time, Salesforce fields, never expires_in', async () => {
    const sb = await sandbox();
    const first = sb.issueRefreshToken();
    const r1 = await refresh(sb, first);
    expect(r1.status).toBe(200);
    const body = r1.body;
    expect(body).not.toHaveProperty('expires_in');
    expect(body.token_type).toBe('Bearer');
    expect(body.issued_at).toMatch(/^\d{13}$/);
    expect(body.instance_url).toBe(sb.url);
    expect(body.scope).toBe('api refresh_token');
    expect(body.id).toMatch(new RegExp(`^${sb.url}/id/00D\\w{15}/005\\w{15}$`));
    expect(body.access_token).toMatch(/^00D\w{12}!/);
    const expectedSignature = createHmac('sha256', sb.connectedApp.clientSecret)
      .update(`${String(body.id)}${String(body.issued_at)}`)
      .digest('base64');
    expect(body.signature).toBe(expectedSignature);
    expect(typeof body.refresh_token).toBe('string');
    expect(body.refresh_token).not.toBe(first);

    const r2 = await refresh(sb, String(body.refresh_token));
    expect(r2.status).toBe(200);
    expect(r2.body.refresh_token).not.toBe(body.refresh_token);
    expect(sb.stats.byGrant.refresh_token).toBe(2);
    expect(sb.stats.isGrantAlive(first)).toBe(true);
  });

  it('without rotation: no refresh_token in the answer and the same token keeps working', async () => {
    const sb = await sandbox({ rotation: false });
    const rt = sb.issueRefreshToken();
    for (let i = 0; i < 3; i++) {
      const r = await refresh(sb, rt);
      expect(r.status).toBe(200);
      expect(r.body).not.toHaveProperty('refresh_token');
      expect(r.body).not.toHaveProperty('expires_in');
    }
    sb.setRotation(true);
    const rotated = await refresh(sb, rt);
    expect(typeof rotated.body.refresh_token).toBe('string');
  });

  it('replaying a rotated-out refresh token revokes the whole grant', async () => {
    const sb = await sandbox();
    const old = sb.issueRefreshToken();
    const r1 = await refresh(sb, old);
    const current = String(r1.body.refresh_token);
    const access = String(r1.body.access_token);
    expect((await deliver(sb, access)).status).toBe(200);

    expectError(await refresh(sb, old), 'invalid_grant', 'expired access/refresh token');
    expect(sb.stats.rotatedOutTokenPresented).toBe(1);
    expect(sb.stats.grantsRevoked).toBe(1);
    expect(sb.stats.isGrantAlive(current)).toBe(false);
    expect(sb.stats.isGrantAlive(old)).toBe(false);
    // The current refresh token and its access tokens died with the grant.
    expectError(await refresh(sb, current), 'invalid_grant', 'expired access/refresh token');
    const res = await deliver(sb, access);
    expect(res.status).toBe(401);
    expect(await res.text()).toBe(SESSION_INVALID);
  });

  /**
   * Until the sandbox has read the first refresh (it marks the token as in use as it does), so
   * the second one is sure to come while the first waits out its latency.
   */
  async function firstRefreshArrived(sb: Sandbox): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (sb.stats.byGrant.refresh_token !== 1) {
      if (Date.now() > deadline) throw new Error('the first refresh never reached the sandbox');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('rejects a concurrent refresh with the same token and counts it', async () => {
    const sb = await sandbox({ tokenLatencyMs: 1500 });
    const rt = sb.issueRefreshToken();
    const first = refresh(sb, rt);
    await firstRefreshArrived(sb);
    const second = await refresh(sb, rt);
    expectError(second, 'invalid_grant', 'token request is already being processed');
    const winner = await first;
    expect(winner.status).toBe(200);
    expect(sb.stats.concurrentRefreshRejections).toBe(1);
    expect(sb.stats.maxConcurrentTokenRequests).toBe(2);
    expect(sb.stats.tokenErrors.invalid_grant).toBe(1);
    // 'reject' mode leaves the grant alive: the winner's token carries on.
    expect(sb.stats.isGrantAlive(rt)).toBe(true);
    expect((await refresh(sb, String(winner.body.refresh_token))).status).toBe(200);
  });

  it("in 'revoke' mode a concurrent refresh kills the grant, in-flight request included", async () => {
    const sb = await sandbox({ tokenLatencyMs: 1500, concurrentRefresh: 'revoke' });
    const rt = sb.issueRefreshToken();
    const first = refresh(sb, rt);
    await firstRefreshArrived(sb);
    expectError(await refresh(sb, rt), 'invalid_grant', 'token request is already being processed');
    expectError(await first, 'invalid_grant', 'expired access/refresh token');
    expect(sb.stats.isGrantAlive(rt)).toBe(false);
    expect(sb.stats.grantsRevoked).toBe(1);
  });

  it('requires the secret for refresh when the app says so', async () => {
    const sb = await sandbox({ requireSecretForRefresh: true });
    const rt = sb.issueRefreshToken();
    expectError(await refresh(sb, rt), 'invalid_client', 'invalid client credentials');
    expectError(
      await refresh(sb, rt, { client_secret: 'wrong' }),
      'invalid_client',
      'invalid client credentials',
    );
    const viaBody = await refresh(sb, rt, { client_secret: sb.connectedApp.clientSecret });
    expect(viaBody.status).toBe(200);
    const viaBasic = await token(
      sb,
      { grant_type: 'refresh_token', refresh_token: String(viaBody.body.refresh_token) },
      { authorization: basic(sb) },
    );
    expect(viaBasic.status).toBe(200);
    expectError(
      await token(sb, { grant_type: 'refresh_token', refresh_token: rt, client_id: 'nope' }),
      'invalid_client_id',
      'client identifier invalid',
    );
  });

  it('answers unknown tokens and unknown grant types like Salesforce', async () => {
    const sb = await sandbox();
    expectError(
      await refresh(sb, '5Aep861unknown'),
      'invalid_grant',
      'expired access/refresh token',
    );
    expectError(
      await token(sb, { grant_type: 'password', client_id: sb.connectedApp.clientId }),
      'unsupported_grant_type',
    );
    expect(sb.stats.tokenErrors).toEqual({ invalid_grant: 1, unsupported_grant_type: 1 });
  });
});

describe('Apex REST listener', () => {
  it('accepts a live token, records the callback, and 401s once tokens are expired', async () => {
    const sb = await sandbox();
    const { body } = await refresh(sb, sb.issueRefreshToken());
    const access = String(body.access_token);
    const ok = await deliver(sb, access, '{"hello":1}');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('');
    expect(sb.received).toHaveLength(1);
    expect(sb.received[0]).toMatchObject({
      path: '/services/apexrest/herald/events',
      body: '{"hello":1}',
      accessToken: access,
      username: 'integrator@sandbox.herald.test',
    });
    expect(sb.received[0]?.headers['content-type']).toBe('application/json');

    sb.expireAccessTokens();
    const res = await deliver(sb, access);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.text()).toBe(SESSION_INVALID);
    expect(sb.stats.listenerAccepted).toBe(1);
    expect(sb.stats.listenerRejected401).toBe(1);

    // A fresh token from the same grant works again.
    const again = await refresh(sb, String(body.refresh_token));
    expect((await deliver(sb, String(again.body.access_token))).status).toBe(200);
  });

  it('expires idle sessions after accessTokenTtlMs, measured from last use', async () => {
    let now = Date.now();
    const sb = await sandbox({ accessTokenTtlMs: 60_000, now: () => now });
    const { body } = await refresh(sb, sb.issueRefreshToken());
    const access = String(body.access_token);
    now += 50_000;
    expect((await deliver(sb, access)).status).toBe(200);
    now += 50_000; // 100 s after issue, but only 50 s idle
    expect((await deliver(sb, access)).status).toBe(200);
    now += 60_000;
    expect(await (await deliver(sb, access)).text()).toBe(SESSION_INVALID);
  });

  it('401s a token without the api scope with a message a refresh cannot fix', async () => {
    const sb = await sandbox();
    const { body } = await refresh(sb, sb.issueRefreshToken({ scope: 'refresh_token id' }));
    const res = await deliver(sb, String(body.access_token));
    expect(res.status).toBe(401);
    const errors = (await res.json()) as { message: string; errorCode: string }[];
    expect(errors[0]?.errorCode).toBe('INVALID_SESSION_ID');
    expect(errors[0]?.message).toMatch(/not valid for use with the REST API/);
  });

  it('401s a missing or unknown bearer token', async () => {
    const sb = await sandbox();
    const res = await fetch(`${sb.url}/services/apexrest/herald/events`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe(SESSION_INVALID);
    expect((await deliver(sb, '00Dxx!bogus')).status).toBe(401);
  });
  it('answers other methods 405 with Allow: POST, over its socket and in process alike', async () => {
    const sb = await sandbox();
    const { body } = await refresh(sb, sb.issueRefreshToken());
    const headers = { authorization: `Bearer ${String(body.access_token)}` };
    const path = '/services/apexrest/herald/events?source=test';
    const answers = [
      await fetch(`${sb.url}${path}`, { headers }),
      await sb.app.request(path, { headers }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toEqual([
        {
          errorCode: 'METHOD_NOT_ALLOWED',
          message: "HTTP Method 'GET' not allowed. Allowed are POST",
        },
      ]);
    }
    // A callback is recorded under its path, without the query.
    await fetch(`${sb.url}${path}`, { method: 'POST', headers, body: '{}' });
    expect(sb.received.at(-1)?.path).toBe('/services/apexrest/herald/events');
  });
  it('treats encoded paths and repeated Authorization headers as the in-process org does', async () => {
    const sb = await sandbox();
    const { body } = await refresh(sb, sb.issueRefreshToken());
    const bearer = `Bearer ${String(body.access_token)}`;
    const path = '/services/apexrest/h%C3%A9rald/events';
    expect(
      (await sb.app.request(path, { method: 'POST', headers: { authorization: bearer } })).status,
    ).toBe(200);
    expect(
      (await fetch(`${sb.url}${path}`, { method: 'POST', headers: { authorization: bearer } }))
        .status,
    ).toBe(200);
    expect(sb.received.map((r) => r.path)).toEqual([
      '/services/apexrest/hérald/events',
      '/services/apexrest/hérald/events',
    ]);

    // Two Authorization headers are no bearer token: 401, as in process (they arrive joined).
    const twice = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${sb.url}/services/apexrest/herald/events`,
        {
          method: 'POST',
          // Given as a list, so both are sent; a list also means writing Host ourselves.
          headers: ['host', new URL(sb.url).host, 'authorization', bearer, 'authorization', bearer],
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    const joined = await sb.app.request('/services/apexrest/herald/events', {
      method: 'POST',
      headers: { authorization: `${bearer}, ${bearer}` },
    });
    expect([twice, joined.status]).toEqual([401, 401]);
  });
});

describe('revoke, introspect, identity', () => {
  it('revokes a refresh token (grant and its access tokens), then answers 400 invalid_token', async () => {
    const sb = await sandbox();
    const rt = sb.issueRefreshToken();
    const { body } = await refresh(sb, rt);
    const current = String(body.refresh_token);
    const first = await post(`${sb.url}/services/oauth2/revoke`, { token: current });
    expect(first.status).toBe(200);
    const second = await post(`${sb.url}/services/oauth2/revoke`, { token: current });
    expect(second.status).toBe(400);
    expect(await second.json()).toEqual({
      error: 'invalid_token',
      error_description: 'invalid token',
    });
    expect(sb.stats.isGrantAlive(current)).toBe(false);
    expect((await deliver(sb, String(body.access_token))).status).toBe(401);
  });

  it('revokes a single access token, also with GET ?token=', async () => {
    const sb = await sandbox();
    const rt = sb.issueRefreshToken();
    const { body } = await refresh(sb, rt);
    const access = String(body.access_token);
    const res = await fetch(`${sb.url}/services/oauth2/revoke?token=${encodeURIComponent(access)}`);
    expect(res.status).toBe(200);
    expect((await deliver(sb, access)).status).toBe(401);
    expect(sb.stats.isGrantAlive(rt)).toBe(true);
  });

  it('introspects live tokens for an authenticated client', async () => {
    const sb = await sandbox({ accessTokenTtlMs: 3_600_000 });
    const { body } = await refresh(sb, sb.issueRefreshToken());
    const access = String(body.access_token);
    const url = `${sb.url}/services/oauth2/introspect`;

    const anonymous = await post(url, { token: access, client_id: sb.connectedApp.clientId });
    expect(anonymous.status).toBe(401);

    const live = await post(url, { token: access }, { authorization: basic(sb) });
    const info = (await live.json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      active: true,
      scope: 'api refresh_token',
      client_id: sb.connectedApp.clientId,
      username: 'integrator@sandbox.herald.test',
      sub: body.id,
      token_type: 'access_token',
    });
    expect(Number(info.exp) - Number(info.iat)).toBe(3600);
    expect(info.nbf).toBe(info.iat);

    const rtInfo = await post(url, {
      token: String(body.refresh_token),
      client_id: sb.connectedApp.clientId,
      client_secret: sb.connectedApp.clientSecret,
    });
    expect(await rtInfo.json()).toMatchObject({ active: true, token_type: 'refresh_token' });

    sb.expireAccessTokens();
    const dead = await post(url, { token: access }, { authorization: basic(sb) });
    expect(await dead.json()).toEqual({ active: false });
  });

  it('serves userinfo and the identity URL for a live token, 403 Bad_OAuth_Token otherwise', async () => {
    const sb = await sandbox();
    const { body } = await refresh(sb, sb.issueRefreshToken());
    const auth = { authorization: `Bearer ${String(body.access_token)}` };
    const userinfo = await fetch(`${sb.url}/services/oauth2/userinfo`, { headers: auth });
    expect(await userinfo.json()).toMatchObject({
      sub: body.id,
      preferred_username: 'integrator@sandbox.herald.test',
    });
    const identity = await fetch(String(body.id), { headers: auth });
    expect(await identity.json()).toMatchObject({
      id: body.id,
      username: 'integrator@sandbox.herald.test',
    });
    const bad = await fetch(`${sb.url}/services/oauth2/userinfo`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.status).toBe(403);
    expect(await bad.text()).toBe('Bad_OAuth_Token');
  });
});

describe('client credentials flow', () => {
  it('is off until a Run As user is set; then mints access tokens without refresh tokens', async () => {
    const sb = await sandbox();
    const params = {
      grant_type: 'client_credentials',
      client_id: sb.connectedApp.clientId,
      client_secret: sb.connectedApp.clientSecret,
    };
    expectError(await token(sb, params), 'invalid_grant', 'no client credentials user enabled');

    sb.enableClientCredentials({ username: 'analyst@sandbox.herald.test' });
    const viaBody = await token(sb, params);
    expect(viaBody.status).toBe(200);
    expect(viaBody.body).not.toHaveProperty('refresh_token');
    expect(viaBody.body).not.toHaveProperty('expires_in');
    expect(viaBody.body.instance_url).toBe(sb.url);

    const viaBasic = await token(
      sb,
      { grant_type: 'client_credentials' },
      { authorization: basic(sb) },
    );
    expect(viaBasic.status).toBe(200);
    expect((await deliver(sb, String(viaBasic.body.access_token))).status).toBe(200);
    expect(sb.received[0]?.username).toBe('analyst@sandbox.herald.test');

    expectError(
      await token(sb, { grant_type: 'client_credentials', client_id: sb.connectedApp.clientId }),
      'invalid_client',
      'invalid client credentials',
    );
    expect(sb.stats.byGrant.client_credentials).toBe(4);
  });
});

// ---- Web Server flow, driven like a browser would, with plain HTTP ----

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const pendingId = (html: string) => /name="pending" value="([^"]+)"/.exec(html)?.[1] ?? '';

function authorizeUrl(sb: Sandbox, params: Record<string, string>): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: sb.connectedApp.clientId,
    redirect_uri: 'http://localhost:1717/OauthRedirect',
    scope: 'api refresh_token',
    state: 'st-123',
    ...params,
  });
  return `${sb.url}/services/oauth2/authorize?${query.toString()}`;
}

/** GET authorize, log in, answer the consent page; returns the redirect Location. */
async function authorize(
  sb: Sandbox,
  opts: { params?: Record<string, string>; decision?: 'allow' | 'deny'; username?: string } = {},
): Promise<URL> {
  const page = await fetch(authorizeUrl(sb, opts.params ?? {}), { redirect: 'manual' });
  expect(page.status).toBe(200);
  const user = sb.users.find((u) => u.username === (opts.username ?? sb.users[0]?.username));
  const login = await post(`${sb.url}/services/oauth2/authorize/login`, {
    pending: pendingId(await page.text()),
    username: user?.username ?? '',
    password: user?.password ?? '',
  });
  const consent = await login.text();
  expect(consent).toContain('id="allow"');
  const answer = await post(`${sb.url}/services/oauth2/authorize/consent`, {
    pending: pendingId(consent),
    decision: opts.decision ?? 'allow',
  });
  expect(answer.status).toBe(302);
  return new URL(answer.headers.get('location') ?? '');
}

const exchange = (
  sb: Sandbox,
  code: string,
  verifier: string,
  extra: Record<string, string> = {},
) =>
  token(sb, {
    grant_type: 'authorization_code',
    code,
    client_id: sb.connectedApp.clientId,
    redirect_uri: 'http://localhost:1717/OauthRedirect',
    code_verifier: verifier,
    ...extra,
  });

describe('web server flow (authorization code + PKCE)', () => {
  it('serves a login form, re-shows it on a wrong password, then a consent page', async () => {
    const sb = await sandbox();
    const { challenge } = pkce();
    const page = await fetch(
      authorizeUrl(sb, { code_challenge: challenge, login_hint: 'integrator@sandbox.herald.test' }),
    );
    const html = await page.text();
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    for (const id of ['id="username"', 'id="password"', 'id="login"']) expect(html).toContain(id);
    expect(html).toContain('value="integrator@sandbox.herald.test"');

    const wrong = await post(`${sb.url}/services/oauth2/authorize/login`, {
      pending: pendingId(html),
      username: 'integrator@sandbox.herald.test',
      password: 'not-it',
    });
    const retry = await wrong.text();
    expect(retry).toContain('id="error"');
    expect(retry).toContain('id="password"');

    const ok = await post(`${sb.url}/services/oauth2/authorize/login`, {
      pending: pendingId(retry),
      username: 'integrator@sandbox.herald.test',
      password: 'herald-sandbox',
    });
    const consent = await ok.text();
    for (const id of ['id="allow"', 'id="deny"']) expect(consent).toContain(id);
    expect(consent).toContain('Manage user data via APIs (api)');
  });

  it('allow → code; the PKCE exchange returns a refresh token; the code is single-use', async () => {
    const sb = await sandbox();
    const { verifier, challenge } = pkce();
    const location = await authorize(sb, {
      params: { code_challenge: challenge, code_challenge_method: 'S256' },
    });
    expect(`${location.origin}${location.pathname}`).toBe('http://localhost:1717/OauthRedirect');
    expect(location.searchParams.get('state')).toBe('st-123');
    const code = location.searchParams.get('code') ?? '';
    expect(code).toMatch(/^aPrx/);

    const exchanged = await exchange(sb, code, verifier);
    expect(exchanged.status).toBe(200);
    expect(exchanged.body).not.toHaveProperty('expires_in');
    expect(exchanged.body.scope).toBe('api refresh_token');
    const rt = String(exchanged.body.refresh_token);
    expect(rt).toMatch(/^5Aep861/);
    expect((await deliver(sb, String(exchanged.body.access_token))).status).toBe(200);
    expect((await refresh(sb, rt)).status).toBe(200);

    expectError(await exchange(sb, code, verifier), 'invalid_grant');
  });

  it('rejects a wrong code verifier, a wrong redirect_uri and an unknown code', async () => {
    const sb = await sandbox();
    const { challenge } = pkce();
    const params = { code_challenge: challenge };
    const first = (await authorize(sb, { params })).searchParams.get('code') ?? '';
    expectError(
      await exchange(sb, first, pkce().verifier),
      'invalid_grant',
      'invalid code verifier',
    );

    const { verifier, challenge: c2 } = pkce();
    const second = (await authorize(sb, { params: { code_challenge: c2 } })).searchParams.get(
      'code',
    );
    const mismatch = await exchange(sb, second ?? '', verifier, {
      redirect_uri: 'http://localhost:1717/Other',
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error).toBe('redirect_uri_mismatch');

    expectError(
      await exchange(sb, 'aPrxnope==', verifier),
      'invalid_grant',
      'authentication failure',
    );
  });

  it('returns a verifiable id_token with openid', async () => {
    const sb = await sandbox();
    const { verifier, challenge } = pkce();
    const location = await authorize(sb, {
      params: { code_challenge: challenge, scope: 'api refresh_token openid', nonce: 'n-1' },
    });
    const { body } = await exchange(sb, location.searchParams.get('code') ?? '', verifier);
    const [header, payload, signature] = String(body.id_token).split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({ iss: sb.url, aud: sb.connectedApp.clientId, nonce: 'n-1' });
    const jwks = (await (await fetch(`${sb.url}/id/keys`)).json()) as { keys: object[] };
    const key = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' });
    const signed = Buffer.from(`${header}.${payload}`);
    expect(verify('sha256', signed, key, Buffer.from(signature ?? '', 'base64url'))).toBe(true);
  });

  it('deny → redirect with error=access_denied and the state', async () => {
    const sb = await sandbox();
    const location = await authorize(sb, {
      params: { code_challenge: pkce().challenge },
      decision: 'deny',
    });
    expect(location.search).toBe(
      '?error=access_denied&error_description=end-user+denied+authorization&state=st-123',
    );
  });

  it('never redirects to an unregistered redirect_uri or for an unknown client', async () => {
    const sb = await sandbox();
    const challenge = pkce().challenge;
    const mismatch = await fetch(
      authorizeUrl(sb, {
        code_challenge: challenge,
        redirect_uri: 'http://127.0.0.1:1717/OauthRedirect',
      }),
      { redirect: 'manual' },
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.headers.get('location')).toBeNull();
    expect(await mismatch.text()).toContain('redirect_uri_mismatch');

    const unknown = await fetch(authorizeUrl(sb, { code_challenge: challenge, client_id: 'x' }), {
      redirect: 'manual',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();

    sb.addCallbackUrl('http://localhost:4321/oauth/callback');
    const added = await fetch(
      authorizeUrl(sb, {
        code_challenge: challenge,
        redirect_uri: 'http://localhost:4321/oauth/callback',
      }),
      { redirect: 'manual' },
    );
    expect(added.status).toBe(200);
  });

  it('answers prompt=none with login_required (the sandbox keeps no login session)', async () => {
    const sb = await sandbox();
    const res = await fetch(
      authorizeUrl(sb, { code_challenge: pkce().challenge, prompt: 'none' }),
      {
        redirect: 'manual',
      },
    );
    expect(new URL(res.headers.get('location') ?? '').searchParams.get('error')).toBe(
      'login_required',
    );
  });

  it('redirects with invalid_request when the required code_challenge is missing', async () => {
    const sb = await sandbox();
    const res = await fetch(authorizeUrl(sb, {}), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('st-123');
  });
});

describe('approval limit', () => {
  it('a sixth approval by the same user evicts the oldest grant', async () => {
    const sb = await sandbox();
    const tokens = [1, 2, 3, 4, 5].map(() => sb.issueRefreshToken());
    const other = sb.issueRefreshToken({ username: 'analyst@sandbox.herald.test' });
    expect(tokens.every((t) => sb.stats.isGrantAlive(t))).toBe(true);

    // The sixth comes through the real web flow.
    const { verifier, challenge } = pkce();
    const location = await authorize(sb, { params: { code_challenge: challenge } });
    const sixth = await exchange(sb, location.searchParams.get('code') ?? '', verifier);
    expect(sixth.status).toBe(200);

    expect(sb.stats.isGrantAlive(tokens[0] ?? '')).toBe(false);
    expect(tokens.slice(1).every((t) => sb.stats.isGrantAlive(t))).toBe(true);
    expect(sb.stats.isGrantAlive(other)).toBe(true);
    expect(sb.stats.grantsRevoked).toBe(1);
    expectError(
      await refresh(sb, tokens[0] ?? ''),
      'invalid_grant',
      'expired access/refresh token',
    );
  });

  it('honours maxApprovalsPerUser', async () => {
    const sb = await sandbox({ maxApprovalsPerUser: 2 });
    const [a, b, c] = [1, 2, 3].map(() => sb.issueRefreshToken());
    expect([a, b, c].map((t) => sb.stats.isGrantAlive(t ?? ''))).toEqual([false, true, true]);
  });
});

describe('HTTP controls under /_sandbox/', () => {
  it('mint, rotate, expire, revoke and count over HTTP', async () => {
    const sb = await sandbox();
    const call = async (path: string, body?: unknown) => {
      const res = await fetch(`${sb.url}/_sandbox/${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    const issued = await call('refresh-tokens', { scope: 'api refresh_token' });
    const rt = String(issued.body.refresh_token);
    expect((await call('rotation', { on: false })).status).toBe(200);
    const r = await refresh(sb, rt);
    expect(r.body).not.toHaveProperty('refresh_token');
    expect((await deliver(sb, String(r.body.access_token))).status).toBe(200);

    await call('expire-access-tokens', {});
    expect((await deliver(sb, String(r.body.access_token))).status).toBe(401);

    expect((await call('client-credentials', { username: 'nobody@x' })).status).toBe(400);
    expect((await call('client-credentials', {})).status).toBe(200);
    expect((await call('grant-alive', { refresh_token: rt })).body.alive).toBe(true);

    await call('revoke-all', {});
    expect(sb.stats.isGrantAlive(rt)).toBe(false);
    expect((await call('rotation', { on: 'yes' })).status).toBe(400);

    const stats = await call('stats');
    expect(stats.body).toMatchObject({
      tokenRequests: 1,
      listenerAccepted: 1,
      listenerRejected401: 1,
      received: 1,
      rotation: false,
      grantsRevoked: 1,
      clientCredentialsUser: 'integrator@sandbox.herald.test',
    });
    expect(stats.body.grants).toEqual([expect.objectContaining({ alive: false, kind: 'direct' })]);
    const received = await fetch(`${sb.url}/_sandbox/received`);
    expect(await received.json()).toHaveLength(1);
  });
});

describe('in-process sandbox', () => {
  it('serves the same org through app.request() without a socket', async () => {
    const sb = createSandbox({ baseUrl: 'https://herald-dev.my.salesforce.test' });
    const res = await sb.app.request('/services/oauth2/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: sb.issueRefreshToken(),
        client_id: sb.connectedApp.clientId,
      }).toString(),
    });
    const body = (await res.json()) as TokenBody;
    expect(body.instance_url).toBe('https://herald-dev.my.salesforce.test');
    const delivered = await sb.app.request('/services/apexrest/herald', {
      method: 'POST',
      headers: { authorization: `Bearer ${String(body.access_token)}` },
      body: '{}',
    });
    expect(delivered.status).toBe(200);
    expect(sb.stats.listenerAccepted).toBe(1);
  });
});
