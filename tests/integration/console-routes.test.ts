// The console's routes without a browser (app.request): sign-in, sessions, CSRF, headers, and
// that pages show what the services hold and nothing secret.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENDPOINT_OPTIONS } from '../../src/domain/endpoint.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { pageText, testConsole, type TestConsole } from '../helpers/console.js';
import { startListener } from '../helpers/listener.js';
import {
  startTestHerald,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestHerald,
} from '../helpers/herald.js';

let herald: TestHerald;
let web: TestConsole;

beforeAll(async () => {
  herald = await startTestHerald();
  web = testConsole(herald.services);
});
afterAll(async () => {
  await herald?.close();
});

describe('the console on the server', () => {
  it('sends a browser at / to /console/, and keeps the JSON answer for API clients', async () => {
    const browser = await fetch(`${herald.url}/`, {
      headers: { accept: 'text/html,application/xhtml+xml' },
      redirect: 'manual',
    });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')).toBe('/console/');
    const api = await fetch(`${herald.url}/`);
    expect(await api.json()).toMatchObject({ service: 'herald' });
    const bare = await fetch(`${herald.url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(303);
    expect(bare.headers.get('location')).toBe('/console/sign-in');
    const page = await fetch(`${herald.url}/console/sign-in`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe('signing in', () => {
  it('shows a field labelled "API key" and a "Sign in" button, under a strict CSP', async () => {
    const response = await web.client().request('/console/sign-in');
    const html = await response.text();
    expect(html).toMatch(/<label for="api-key">API key<\/label>/);
    expect(html).toMatch(/<input id="api-key" name="apiKey" type="password"/);
    expect(html).toMatch(/<button type="submit">Sign in<\/button>/);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('sends pages to sign-in without a session', async () => {
    for (const path of [
      '/console/',
      '/console/endpoints',
      '/console/deliveries',
      '/console/events',
    ]) {
      const response = await web.client().request(path);
      expect(response.status, path).toBe(303);
      expect(response.headers.get('location')).toBe('/console/sign-in');
    }
  });

  it('refuses a wrong key in plain words, then slows down a guesser', async () => {
    const client = web.client();
    const wrong = await client.request('/console/sign-in', { form: { apiKey: 'not-a-key' } });
    expect(wrong.status).toBe(401);
    expect(pageText(await wrong.text())).toContain('That API key is not valid');
    expect(client.cookies.size).toBe(0);
    for (let i = 0; i < 4; i++) {
      await client.request('/console/sign-in', { form: { apiKey: `guess-${i}` } });
    }
    const limited = await client.request('/console/sign-in', { form: { apiKey: TEST_API_KEY } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(pageText(await limited.text())).toMatch(/Too many sign-in attempts .* Wait \d+ seconds/);
    web.clock.advance(61_000);
    const after = await client.request('/console/sign-in', { form: { apiKey: TEST_API_KEY } });
    expect(after.status).toBe(303);
  });

  it('starts a session in an HttpOnly, SameSite=Strict cookie that does not carry the key', async () => {
    const client = web.client();
    const response = await client.request('/console/sign-in', { form: { apiKey: TEST_API_KEY } });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/console/');
    const cookie = client.lastSetCookies.find((c) => c.startsWith('herald_session='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\/console/);
    expect(cookie).not.toMatch(/; Secure/);
    expect(cookie).not.toContain(TEST_API_KEY);
    expect(
      Buffer.from(cookie.split('=')[1]!.split(';')[0]!, 'base64url').toString('latin1'),
    ).not.toContain(TEST_API_KEY);
  });

  it('marks the cookies Secure behind https', async () => {
    const secure = testConsole(herald.services, { publicUrl: 'https://herald.example.com' });
    const client = secure.client('https://herald.example.com');
    await client.request('/console/sign-in', { form: { apiKey: TEST_API_KEY } });
    expect(client.lastSetCookies.find((c) => c.startsWith('herald_session='))).toMatch(/; Secure/);
  });
});

describe('a signed-in account', () => {
  it('sees the navigation, and no page shows its API key', async () => {
    const client = web.client();
    await client.signIn(TEST_API_KEY);
    for (const path of [
      '/console/',
      '/console/endpoints',
      '/console/deliveries',
      '/console/events',
      '/console/endpoints/new',
    ]) {
      const response = await client.request(path);
      expect(response.status, path).toBe(200);
      const html = await response.text();
      for (const name of ['Overview', 'Endpoints', 'Deliveries', 'Events']) {
        expect(html, `${path} links ${name}`).toMatch(
          new RegExp(`<a href="[^"]+"[^>]*>${name}</a>`),
        );
      }
      expect(html, path).not.toMatch(/>Accounts</);
      expect(html, path).not.toContain(TEST_API_KEY);
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
    expect((await client.request('/console/accounts')).status).toBe(403);
  });

  it('refuses a state-changing form without the CSRF token, with a wrong one, or from another site', async () => {
    const client = web.client();
    const csrf = await client.signIn(TEST_API_KEY);
    const before = (
      await herald.services.endpoints.list((await herald.services.accounts.defaultAccountId())!)
    ).length;
    const form = { url: 'http://127.0.0.1:9/hook', authType: 'NONE', events: '*' };
    const none = await client.request('/console/endpoints', { form });
    expect(none.status).toBe(403);
    expect(pageText(await none.text())).toContain('security token does not match');
    expect(
      (await client.request('/console/endpoints', { form: { ...form, _csrf: `${csrf}x` } })).status,
    ).toBe(403);
    const crossSite = await client.request('/console/endpoints', {
      form: { ...form, _csrf: csrf },
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const after = (
      await herald.services.endpoints.list((await herald.services.accounts.defaultAccountId())!)
    ).length;
    expect(after).toBe(before);
    const ok = await client.request('/console/endpoints', { form: { ...form, _csrf: csrf } });
    expect(ok.status).toBe(201);
  });

  it('ends the session when it expires: pages send to sign-in, forms are refused', async () => {
    const short = testConsole(herald.services, { sessionMs: 60_000 });
    const client = short.client();
    const csrf = await client.signIn(TEST_API_KEY);
    short.clock.advance(61_000);
    const page = await client.request('/console/endpoints');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/sign-in?expired');
    const signIn = await client.request('/console/sign-in?expired');
    expect(pageText(await signIn.text())).toContain('Your session has expired');

    const again = short.client();
    const token = await again.signIn(TEST_API_KEY);
    short.clock.advance(61_000);
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const before = (await herald.services.endpoints.list(accountId)).length;
    const refused = await again.request('/console/endpoints', {
      form: { url: 'http://127.0.0.1:9/late', authType: 'NONE', events: '*', _csrf: token },
    });
    expect(refused.status).toBe(401);
    expect((await herald.services.endpoints.list(accountId)).length).toBe(before);
    void csrf;
  });

  it('ends the session when its key is revoked', async () => {
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const key = await herald.services.accounts.createApiKey(accountId, 'short-lived');
    const client = web.client();
    await client.signIn(key.key);
    expect((await client.request('/console/endpoints')).status).toBe(200);
    await herald.services.accounts.revokeApiKey(accountId, key.id);
    web.clock.advance(6000); // past the key cache
    const response = await client.request('/console/endpoints');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/console/sign-in');
  });
});

describe('static files', () => {
  it('serves fingerprinted assets cached as immutable, and nothing else', async () => {
    const client = web.client();
    const html = await (await client.request('/console/sign-in')).text();
    const urls = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(urls.map((u) => u.replace(/\.[0-9a-f]{12}\./, '.'))).toEqual(
      expect.arrayContaining([
        '/console/assets/console.css',
        '/console/assets/console.js',
        '/console/assets/htmx.min.js',
        '/console/assets/uPlot.iife.min.js',
        '/console/assets/uPlot.min.css',
      ]),
    );
    for (const url of urls) {
      const response = await client.request(url);
      expect(response.status, url).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    expect((await client.request('/console/assets/console.js')).status).toBe(404);
    expect((await client.request('/console/assets/..%2F..%2Fpackage.json')).status).toBe(404);
  });
});

describe('the operator', () => {
  it('signs in with the admin key, sees Accounts, creates an account (key shown once) and acts for it', async () => {
    const client = web.client();
    const csrf = await client.signIn(TEST_ADMIN_KEY);
    const overview = await (await client.request('/console/')).text();
    expect(overview).toMatch(/<a href="\/console\/accounts"[^>]*>Accounts<\/a>/);
    expect(overview).not.toContain(TEST_ADMIN_KEY);
    const created = await client.request('/console/accounts', {
      form: { name: 'Globex', contactEmail: 'ops@globex.test', _csrf: csrf },
    });
    expect(created.status).toBe(201);
    const html = await created.text();
    const key = /<code id="new-api-key">([^<]+)<\/code>/.exec(html)![1]!;
    const principal = await herald.services.accounts.authenticate(`Bearer ${key}`);
    expect(principal.kind).toBe('account');
    const listed = await (await client.request('/console/accounts')).text();
    expect(listed).toContain('ops@globex.test');
    expect(listed).not.toContain(key);

    // The contact email can be changed; a bad one is refused in words.
    const globex = (await herald.services.accounts.listAccounts()).find(
      (a) => a.name === 'Globex',
    )!;
    const bad = await client.request(`/console/accounts/${globex.id}`, {
      form: { name: 'Globex', contactEmail: 'not an email', _csrf: csrf },
    });
    expect(bad.status).toBe(400);
    const saved = await client.request(`/console/accounts/${globex.id}`, {
      form: { name: 'Globex Inc', contactEmail: 'alerts@globex.test', _csrf: csrf },
    });
    expect(saved.status).toBe(303);
    expect(await herald.services.accounts.getAccount(globex.id)).toMatchObject({
      name: 'Globex Inc',
      contactEmail: 'alerts@globex.test',
    });

    // Pages for one account need one picked.
    expect((await client.request('/console/endpoints')).status).toBe(403);
    const accountId = (principal as { accountId: string }).accountId;
    const switched = await client.request('/console/account', { form: { accountId, _csrf: csrf } });
    expect(switched.status).toBe(303);
    const endpoints = await client.request('/console/endpoints');
    expect(endpoints.status).toBe(200);
    expect(await endpoints.text()).toContain('No endpoints yet');
  });

  it("shows the operator every account's endpoints that need a person, before an account is picked", async () => {
    const created = await herald.services.accounts.createAccount('Umbrella', null);
    const { endpoint } = await herald.services.endpoints.create(created.id, null, {
      url: 'http://127.0.0.1:9/umbrella-listener',
      events: ['PACKAGE_COMPLETE'],
      description: null,
      auth: { type: 'NONE' },
      customHeaders: [],
      options: DEFAULT_ENDPOINT_OPTIONS,
      signing: false,
    });
    await herald.services.endpoints.setState(created.id, endpoint.id, 'disabled');
    const client = web.client();
    await client.signIn(TEST_ADMIN_KEY);
    const overview = pageText(await (await client.request('/console/')).text());
    expect(overview).toContain('Endpoints needing attention, every account');
    expect(overview).toMatch(/Umbrella[\s\S]*umbrella-listener[\s\S]*disabled/);
  });
});

describe('endpoint forms', () => {
  it('refuses a bad form with its reason and keeps what was typed; secrets never come back', async () => {
    const client = web.client();
    const csrf = await client.signIn(TEST_API_KEY);
    const bad = await client.request('/console/endpoints', {
      form: {
        _csrf: csrf,
        url: 'http://127.0.0.1:9/typed-url',
        events: 'PACKAGE_COMPLETE',
        authType: 'BASIC',
        basicKey: 'my-basic-secret',
        header0Key: 'Authorization',
        header0Value: 'nope',
      },
    });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(pageText(html)).toContain('is set by Herald and cannot be overridden');
    expect(html).toContain('value="http://127.0.0.1:9/typed-url"');
    expect(html).not.toContain('my-basic-secret');
  });

  it("offers the operational event types apart from OneSpan's, and subscribes to them", async () => {
    const client = web.client();
    const csrf = await client.signIn(TEST_API_KEY);
    const form = await (await client.request('/console/endpoints/new')).text();
    for (const type of [
      'delivery.exhausted',
      'endpoint.disabled',
      'endpoint.reauthorization_required',
    ]) {
      expect(form).toContain(`value="${type}"`);
    }
    const created = await client.request('/console/endpoints', {
      form: {
        _csrf: csrf,
        url: 'http://127.0.0.1:9/ops',
        events: ['*', 'endpoint.disabled', 'delivery.exhausted'],
        authType: 'NONE',
      },
    });
    expect(created.status).toBe(201);
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const endpoint = (await herald.services.endpoints.list(accountId)).find(
      (e) => e.url === 'http://127.0.0.1:9/ops',
    )!;
    expect([...endpoint.events].sort()).toEqual(['*', 'delivery.exhausted', 'endpoint.disabled']);
    // On the edit page they are ticked boxes, not "other event names".
    const edit = await (await client.request(`/console/endpoints/${endpoint.id}/edit`)).text();
    expect(edit).toMatch(/value="endpoint\.disabled"\s+checked/);
    expect(edit).not.toMatch(/id="otherEvents"[^>]*value="[^"]*endpoint\.disabled/);
  });

  it('keeps a stored key when its field is left empty, and shows it only masked', async () => {
    const client = web.client();
    const csrf = await client.signIn(TEST_API_KEY);
    const created = await client.request('/console/endpoints', {
      form: {
        _csrf: csrf,
        url: 'http://127.0.0.1:9/kept',
        events: 'PACKAGE_COMPLETE',
        authType: 'BASIC',
        basicKey: 'kept-secret-7f3a',
        signing: 'on',
      },
    });
    expect(created.status).toBe(201);
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const endpoint = (await herald.services.endpoints.list(accountId)).find(
      (e) => e.url === 'http://127.0.0.1:9/kept',
    )!;
    for (const path of [
      `/console/endpoints/${endpoint.id}`,
      `/console/endpoints/${endpoint.id}/edit`,
    ]) {
      const html = await (await client.request(path)).text();
      expect(html, path).not.toContain('kept-secret-7f3a');
      expect(html, path).toContain('****7f3a');
    }
    const saved = await client.request(`/console/endpoints/${endpoint.id}/edit`, {
      form: {
        _csrf: csrf,
        url: 'http://127.0.0.1:9/kept',
        events: ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED'],
        authType: 'BASIC',
        basicKey: '',
        signing: 'on',
      },
    });
    expect(saved.status).toBe(303);
    const after = await herald.services.endpoints.get(accountId, endpoint.id);
    expect(after.secrets.basicKey).toBe('kept-secret-7f3a');
    expect(after.events).toEqual(['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED']);
  });

  it("keeps accounts apart: another account's endpoint is not found", async () => {
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const { endpoint } = await herald.services.endpoints.create(accountId, null, {
      url: 'http://127.0.0.1:9/private',
      events: ['*'],
      description: null,
      auth: { type: 'NONE' },
      customHeaders: [],
      options: DEFAULT_ENDPOINT_OPTIONS,
      signing: false,
    });
    const other = await herald.services.accounts.createAccount('Initech', null);
    const key = await herald.services.accounts.createApiKey(other.id, 'k');
    const client = web.client();
    const csrf = await client.signIn(key.key);
    const page = await client.request(`/console/endpoints/${endpoint.id}`);
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain('127.0.0.1:9/private');
    const disable = await client.request(`/console/endpoints/${endpoint.id}/state`, {
      form: { _csrf: csrf, state: 'disabled' },
    });
    expect(disable.status).toBe(404);
    expect((await herald.services.endpoints.get(accountId, endpoint.id)).state).toBe('enabled');
    expect(await (await client.request('/console/endpoints')).text()).not.toContain('/private');
  });
});

describe('connecting Salesforce (the way back, without a browser)', () => {
  async function oauthEndpoint(tokenHost: string) {
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    const { endpoint } = await herald.services.endpoints.create(accountId, null, {
      url: 'http://127.0.0.1:9/apex',
      events: ['*'],
      description: null,
      auth: {
        type: 'OAUTH2',
        oauth: {
          flavor: 'salesforce',
          grantType: 'REFRESH_TOKEN',
          tokenUrl: `${tokenHost}/services/oauth2/token`,
          clientId: 'consumer-key',
          scope: null,
          authMechanism: 'BODY',
          customParameters: [],
        },
        clientSecret: null,
        refreshToken: 'old-refresh-token',
      },
      customHeaders: [],
      options: DEFAULT_ENDPOINT_OPTIONS,
      signing: false,
    });
    return endpoint;
  }

  it('begins with PKCE S256 and a state, carried in a SameSite=Lax cookie for the way back only', async () => {
    const endpoint = await oauthEndpoint('http://127.0.0.1:9');
    const client = web.client();
    const csrf = await client.signIn(TEST_API_KEY);
    const page = await client.request(`/console/endpoints/${endpoint.id}`);
    const html = await page.text();
    expect(html).toContain(
      '<code id="redirect-uri">http://localhost/console/oauth/callback</code>',
    );
    expect(html).toMatch(/<button type="submit" id="connect-button">Connect<\/button>/);
    const begun = await client.request(`/console/endpoints/${endpoint.id}/connect`, {
      form: { _csrf: csrf, login: 'custom', loginUrl: 'http://127.0.0.1:9' },
    });
    expect(begun.status).toBe(200);
    const flow = client.lastSetCookies.find((c) => c.startsWith('herald_oauth_flow='))!;
    expect(flow).toMatch(/; Path=\/console\/oauth/);
    expect(flow).toMatch(/; SameSite=Lax/);
    expect(flow).toMatch(/; HttpOnly/);
    const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)"/.exec(
      await begun.text(),
    )![1]!;
    const authorize = new URL(refresh.replace(/&amp;/g, '&'));
    expect(authorize.origin + authorize.pathname).toBe(
      'http://127.0.0.1:9/services/oauth2/authorize',
    );
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(
      'http://localhost/console/oauth/callback',
    );
    const state = authorize.searchParams.get('state')!;
    expect(flow).not.toContain(state);

    // A redirect with another state is refused, and the flow is over.
    const forged = await client.request(`/console/oauth/callback?code=abc&state=${state}x`);
    expect(forged.status).toBe(400);
    expect(pageText(await forged.text())).toContain('its state differs');
    expect(client.cookies.has('herald_oauth_flow')).toBe(false);
  });

  it('refuses a way back with no flow, and a flow finished by another session', async () => {
    const endpoint = await oauthEndpoint('http://127.0.0.1:9');
    const stranger = web.client();
    const none = await stranger.request('/console/oauth/callback?code=abc&state=xyz');
    expect(none.status).toBe(400);
    expect(pageText(await none.text())).toContain('unknown here');

    const victim = web.client();
    const csrf = await victim.signIn(TEST_API_KEY);
    const begun = await victim.request(`/console/endpoints/${endpoint.id}/connect`, {
      form: { _csrf: csrf, login: 'custom', loginUrl: 'http://127.0.0.1:9' },
    });
    const state = new URL(
      /content="0;url=([^"]+)"/.exec(await begun.text())![1]!.replace(/&amp;/g, '&'),
    ).searchParams.get('state')!;
    const back = await victim.request(`/console/oauth/callback?code=abc&state=${state}`);
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('content="0;url=/console/oauth/finish"');
    // The flow cookie taken to another signed-in session does not finish there.
    const other = web.client();
    await other.signIn(TEST_API_KEY);
    other.cookies.set('herald_oauth_flow', victim.cookies.get('herald_oauth_flow')!);
    const finish = await other.request('/console/oauth/finish');
    expect(finish.status).toBe(303);
    const flash = await (await other.request(finish.headers.get('location')!)).text();
    expect(pageText(flash)).toContain('started in another console session');
    const accountId = (await herald.services.accounts.defaultAccountId())!;
    expect((await herald.services.endpoints.get(accountId, endpoint.id)).secrets.refreshToken).toBe(
      'old-refresh-token',
    );
  });
});

describe('an endpoint page', () => {
  it('sends a test event and shows what the listener answered', async () => {
    const listener = await startListener(() => ({ status: 202, body: 'got it' }));
    try {
      const accountId = (await herald.services.accounts.defaultAccountId())!;
      const { endpoint } = await herald.services.endpoints.create(accountId, null, {
        url: `${listener.url}/test`,
        events: ['*'],
        description: null,
        auth: { type: 'NONE' },
        customHeaders: [],
        options: DEFAULT_ENDPOINT_OPTIONS,
        signing: false,
      });
      const client = web.client();
      const csrf = await client.signIn(TEST_API_KEY);
      const response = await client.request(`/console/endpoints/${endpoint.id}/test`, {
        form: { _csrf: csrf },
      });
      expect(response.status).toBe(200);
      const text = pageText(await response.text());
      expect(text).toContain('Test event delivered');
      expect(text).toMatch(/Status code 202/);
      expect(text).toContain('got it');
      expect(JSON.parse(listener.received[0]!.body)).toMatchObject({ name: 'HERALD_TEST' });
    } finally {
      await listener.close();
    }
  });

  it('runs the OAuth token tools against the org, and revoking parks the endpoint', async () => {
    const sandbox = await startSandbox({ host: '127.0.0.1' });
    try {
      const origin = `http://127.0.0.1:${new URL(sandbox.url).port}`;
      const key = Buffer.from(
        JSON.stringify({
          host: origin,
          client_id: sandbox.connectedApp.clientId,
          refresh_token: sandbox.issueRefreshToken(),
        }),
      ).toString('base64');
      const created = await herald.api('POST', '/v1/endpoints', {
        url: `${origin}/services/apexrest/herald/events`,
        events: ['*'],
        auth: { type: 'OAUTH2', salesforceKey: key },
      });
      const id = created.body.id as string;
      const client = web.client();
      const csrf = await client.signIn(TEST_API_KEY);
      const before = pageText(await (await client.request(`/console/endpoints/${id}`)).text());
      expect(before).toContain('Access token none yet');
      const tested = await client.request(`/console/endpoints/${id}/token/test`, {
        form: { _csrf: csrf },
      });
      const text = pageText(await tested.text());
      expect(text).toContain('The credential works');
      expect(text).toContain(sandbox.users[0]!.username);
      expect(text).toContain('Access token held');
      const revoked = await client.request(`/console/endpoints/${id}/token/revoke`, {
        form: { _csrf: csrf },
      });
      expect(revoked.status).toBe(303);
      const after = pageText(await (await client.request(revoked.headers.get('location')!)).text());
      expect(after).toContain('Revoked');
      expect(after).toContain('needs reauthorization');
      expect(after).toContain('Reconnect');
      const endpoint = await herald.api('GET', `/v1/endpoints/${id}`);
      expect(endpoint.body.auth.status).toBe('reauthorization_required');
    } finally {
      await sandbox.close();
    }
  });
});

describe('a new Salesforce endpoint made by logging in', () => {
  it('checks the rest of the form before anyone is sent to log in', async () => {
    const client = web.client();
    const csrf = await client.signIn(TEST_API_KEY);
    const form = {
      _csrf: csrf,
      url: 'http://127.0.0.1:9/apex',
      events: 'PACKAGE_COMPLETE',
      authType: 'SALESFORCE_CONNECT',
      sfClientId: 'consumer-key',
      login: 'custom',
      loginUrl: 'http://127.0.0.1:9',
    };
    const noKey = await client.request('/console/endpoints', { form: { ...form, sfClientId: '' } });
    expect(noKey.status).toBe(400);
    expect(pageText(await noKey.text())).toContain('The consumer key (client id) is required');
    const badUrl = await client.request('/console/endpoints', {
      form: { ...form, url: 'ftp://x' },
    });
    expect(badUrl.status).toBe(400);
    expect(client.cookies.has('herald_oauth_flow')).toBe(false);

    const begun = await client.request('/console/endpoints', { form });
    expect(begun.status).toBe(200);
    const authorize = new URL(
      /content="0;url=([^"]+)"/.exec(await begun.text())![1]!.replace(/&amp;/g, '&'),
    );
    expect(authorize.searchParams.get('client_id')).toBe('consumer-key');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(client.cookies.has('herald_oauth_flow')).toBe(true);
  });
});
