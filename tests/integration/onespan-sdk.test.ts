// Conformance with OneSpan's own SDKs: every answer on /api/callback, success or error, holds to
// the parsing rules of OneSpan's Java SDK (tests/helpers/onespan-sdk.ts), for requests made the
// way the SDK makes them. Registration accepts what OneSpan accepts: a host name that does not
// resolve yet (its deliveries fail and retry), while refused addresses stay refused.

import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startListener, type Listener } from '../helpers/listener.js';
import {
  eventually,
  startTestHerald,
  TEST_API_KEY,
  type ApiResponse,
  type TestHerald,
} from '../helpers/herald.js';
import { expectSdkCallback, expectSdkError, sdkHeaders } from '../helpers/onespan-sdk.js';

const sdk = { key: null, headers: sdkHeaders(TEST_API_KEY) };
const base64 = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64');

/** The body the SDK sends: `key` always (`""` when none), `events` only when there are some. */
function sdkBody(url: string, key = '', events?: string[]): string {
  return JSON.stringify(events ? { key, url, events } : { key, url });
}

describe('OneSpan SDK conformance of /api/callback', () => {
  let herald: TestHerald;
  let listener: Listener;
  const call = (method: string, path: string, body?: string, key = TEST_API_KEY) =>
    herald.api(method, path, body, { key: null, headers: sdkHeaders(key) });

  beforeAll(async () => {
    herald = await startTestHerald();
    listener = await startListener();
  });
  afterAll(async () => {
    await herald.close();
    await listener.close();
  });

  it('answers what the SDK registers and reads with Callbacks its setters accept', async () => {
    const url = `${listener.url}/cb`;
    const registered = await call(
      'POST',
      '/api/callback',
      sdkBody(url, 'sdk-key-7f3a', ['PACKAGE_COMPLETE', 'PACKAGE_READY_FOR_COMPLETION']),
    );
    expect(registered.status, registered.text).toBe(200);
    expectSdkCallback(registered.body);
    const got = await call('GET', '/api/callback');
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toMatch(/^application\/json/);
    expectSdkCallback(got.body);
    expect(got.body).toMatchObject({
      url,
      key: '****7f3a',
      events: ['PACKAGE_COMPLETE', 'PACKAGE_READY_FOR_COMPLETE'],
    });

    // Read-modify-write, as EventNotificationService users do: the masked key keeps the stored one.
    const again = await call(
      'POST',
      '/api/callback',
      sdkBody(url, got.body.key, [...got.body.events, 'SIGNER_COMPLETE']),
    );
    expect(again.status, again.text).toBe(200);
    await herald.api('POST', '/v1/events', { name: 'SIGNER_COMPLETE', packageId: 'sdk-1' });
    const [delivered] = await listener.waitFor(1);
    expect(delivered!.headers.authorization).toBe('Basic sdk-key-7f3a');
  });

  it('never answers null for url, key or events, whatever the auth type', async () => {
    const bodies: Array<[string, string]> = [
      // No key and no events, as the SDK sends a bare configuration.
      ['/api/callback/connectors/dynamics2013', sdkBody(`${listener.url}/none`)],
      [
        '/api/callback/connectors/salesforceOauth2',
        sdkBody(
          `${listener.url}/services/apexrest/herald`,
          base64({ host: listener.url, client_id: 'sdk-client', refresh_token: 'sdk-refresh' }),
          ['PACKAGE_COMPLETE'],
        ),
      ],
      [
        '/api/callback/connectors/sharepoint',
        JSON.stringify({
          url: `${listener.url}/generic`,
          events: ['DOCUMENT_SIGNED'],
          authType: 'OAUTH2',
          oauthSetting: {
            clientId: 'c',
            clientSecret: 's3cret-value',
            authorizationServerUrl: `${listener.url}/token`,
            grantType: 'CLIENT_CREDENTIALS',
          },
        }),
      ],
    ];
    for (const [path, body] of bodies) {
      const posted = await call('POST', path, body);
      expect(posted.status, posted.text).toBe(200);
      expectSdkCallback(posted.body);
      const got = await call('GET', path);
      expectSdkCallback(got.body);
      expect(got.text).not.toContain('sdk-refresh');
      expect(got.text).not.toContain('s3cret-value');
    }
    expect((await call('GET', '/api/callback/connectors/dynamics2013')).body).toMatchObject({
      key: '',
      events: [],
    });
    expect((await call('GET', '/api/callback/connectors/salesforceOauth2')).body.key).toMatch(
      /^\*{4}/,
    );
  });

  it('answers every error in the document the SDK parses into EslServerException', async () => {
    const url = `${listener.url}/cb`;
    const cases: Array<[string, () => Promise<ApiResponse>, number, string]> = [
      [
        'no API key',
        () => herald.api('GET', '/api/callback', undefined, { key: null }),
        401,
        'unauthorized',
      ],
      [
        'a wrong API key',
        () => call('GET', '/api/callback', undefined, 'wrong-key-0000000000'),
        401,
        'unauthorized',
      ],
      [
        'a wrong API key on POST',
        () => call('POST', '/api/callback', sdkBody(url), 'wrong-key-0000000000'),
        401,
        'unauthorized',
      ],
      [
        'an unknown connector',
        () => call('GET', '/api/callback/connectors/nope'),
        404,
        'not_found',
      ],
      [
        'registering an unknown connector',
        () => call('POST', '/api/callback/connectors/salesforce', sdkBody(url)),
        404,
        'not_found',
      ],
      [
        'a connector never registered',
        () => call('GET', '/api/callback/connectors/sharepoint2013'),
        404,
        'not_found',
      ],
      [
        'a path under /api Herald does not serve',
        () => call('GET', '/api/packages'),
        404,
        'not_found',
      ],
      [
        'DELETE of a connector never registered',
        () => call('DELETE', '/api/callback/connectors/sharepoint2010'),
        404,
        'not_found',
      ],
      [
        'PUT, which the route does not answer',
        () => call('PUT', '/api/callback', sdkBody(url)),
        405,
        'method_not_allowed',
      ],
      [
        'PATCH on a connector',
        () => call('PATCH', '/api/callback/connectors/dynamics', sdkBody(url)),
        405,
        'method_not_allowed',
      ],
      [
        'a body over 64 KiB',
        () => call('POST', '/api/callback', sdkBody(`${url}/${'p'.repeat(70_000)}`)),
        413,
        'payload_too_large',
      ],
      ['broken JSON', () => call('POST', '/api/callback', '{"url": '), 400, 'invalid_json'],
      ['an empty body', () => call('POST', '/api/callback', ''), 400, 'invalid_json'],
      [
        'a URL that is not one',
        () => call('POST', '/api/callback', sdkBody('not a url')),
        400,
        'invalid_url',
      ],
      [
        'an ftp URL',
        () => call('POST', '/api/callback', sdkBody('ftp://127.0.0.1/cb')),
        400,
        'invalid_url',
      ],
      [
        'a key with a line break',
        () => call('POST', '/api/callback', sdkBody(url, 'line\nbreak')),
        400,
        'validation_failed',
      ],
      [
        'an event name that is not one',
        () => call('POST', '/api/callback', sdkBody(url, '', ['package complete'])),
        400,
        'validation_failed',
      ],
      [
        'a salesforceOauth2 key that is not base64 JSON',
        () =>
          call('POST', '/api/callback/connectors/salesforceOauth2', sdkBody(url, 'not-base64!!')),
        422,
        'invalid_credentials',
      ],
      [
        'a masked key with nothing stored',
        () => call('POST', '/api/callback/connectors/dynamics2015', sdkBody(url, '****abcd')),
        422,
        'invalid_credentials',
      ],
    ];
    for (const [what, request, status, code] of cases) {
      const res = await request();
      expect.soft(res.status, `${what}: ${res.text}`).toBe(status);
      expectSdkError(res, status, code);
    }
    const notAllowed = await call('PUT', '/api/callback', sdkBody(url));
    expect(notAllowed.headers.get('allow')).toBe('GET, POST, DELETE');
    const invalid = await call('POST', '/api/callback', sdkBody(url, '', ['package complete']));
    expect(invalid.body.technical).toMatch(/^events\/0: /);
    const openApi = (await herald.api('GET', '/openapi.json')).body;
    expect(openApi.paths['/api/callback'].post.responses['400'].content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/OneSpanError' } },
    });
    // /v1 keeps RFC 9457 problem documents.
    const v1 = await herald.api('GET', '/v1/nothing-here');
    expect(v1.headers.get('content-type')).toBe('application/problem+json');
    expect(v1.body.code).toBe('not_found');
  });

  it('answers store outages and bugs in the same document', async () => {
    const endpoints = herald.services.endpoints;
    const original = endpoints.findByOrigin;
    onTestFinished(() => {
      endpoints.findByOrigin = original;
    });
    endpoints.findByOrigin = () =>
      Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
    const outage = await call('GET', '/api/callback');
    expectSdkError(outage, 503, 'store_unavailable');
    expect(outage.headers.get('retry-after')).toBe('2');
    endpoints.findByOrigin = () => Promise.reject(new Error('a bug'));
    const bug = await call('GET', '/api/callback');
    expectSdkError(bug, 500, 'internal_error');
    expect(bug.text).not.toContain('a bug');
  });
});

describe('registering names that do not resolve yet', () => {
  let guarded: TestHerald;
  let plain: TestHerald;
  beforeAll(async () => {
    // The SSRF guard on, as in production; a failed delivery waits an hour for its next try.
    guarded = await startTestHerald({
      HERALD_ALLOW_PRIVATE_NETWORK: '0',
      HERALD_RETRY_SCHEDULE: '1h',
    });
    plain = await startTestHerald({
      HERALD_ALLOW_PRIVATE_NETWORK: '0',
      HERALD_ALLOW_PLAIN_HTTP: 'true',
    });
  });
  afterAll(async () => {
    await guarded.close();
    await plain.close();
  });

  it('accepts an https URL whose name does not resolve, and its deliveries fail and retry', async () => {
    // RFC 6761: names under .invalid never resolve.
    const res = await guarded.api(
      'POST',
      '/api/callback',
      sdkBody('https://listener.invalid/cb', 'k-invalid-1234', ['PACKAGE_COMPLETE']),
      sdk,
    );
    expect(res.status, res.text).toBe(200);
    expectSdkCallback(res.body);
    await guarded.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'unresolved' });
    const delivery = await eventually(async () => {
      const list = await guarded.api('GET', '/v1/deliveries');
      const d = list.body.data[0];
      return d?.attemptCount >= 1 ? d : undefined;
    });
    expect(delivery).toMatchObject({
      status: 'pending',
      lastError: expect.stringMatching(/resolve/),
    });
    expect(Date.parse(delivery.nextAttemptAt)).toBeGreaterThan(Date.now());
    const attempts = (await guarded.api('GET', `/v1/deliveries/${delivery.id}`)).body.attempts;
    expect(attempts[0]).toMatchObject({ outcome: 'connect_error', statusCode: null });
  });

  it('still refuses refused addresses, and plain http unless HERALD_ALLOW_PLAIN_HTTP', async () => {
    for (const url of ['https://localhost/cb', 'https://127.0.0.1/cb', 'https://10.0.0.1/cb']) {
      expectSdkError(
        await guarded.api('POST', '/api/callback', sdkBody(url), sdk),
        422,
        'destination_not_allowed',
      );
      expectSdkError(
        await plain.api('POST', '/api/callback', sdkBody(`http${url.slice(5)}`), sdk),
        422,
        'destination_not_allowed',
      );
    }
    const refused = await guarded.api(
      'POST',
      '/api/callback',
      sdkBody('http://listener.invalid/cb'),
      sdk,
    );
    expectSdkError(refused, 422, 'destination_not_allowed');
    expect(refused.body.message).toMatch(/HERALD_ALLOW_PLAIN_HTTP=true/);
    const allowed = await plain.api(
      'POST',
      '/api/callback',
      sdkBody('http://listener.invalid/cb'),
      sdk,
    );
    expect(allowed.status, allowed.text).toBe(200);
  });
});
