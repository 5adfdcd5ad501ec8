// Bad input gets a clear 4xx and loses nothing; never a 5xx, a hang or a leak. /v1 answers in
// problem+json, /api/callback in OneSpan's error document (what OneSpan's SDKs parse).

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished as after } from 'vitest';
import {
  startTestHerald,
  TEST_API_KEY,
  type ApiResponse,
  type TestHerald,
} from '../helpers/herald.js';
import { expectSdkError } from '../helpers/onespan-sdk.js';

function expectProblem(res: ApiResponse, status: number, code?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body).toMatchObject({
    status,
    type: expect.stringMatching(/^urn:herald:problem:/),
    detail: expect.any(String),
  });
  if (code) expect(res.body.code).toBe(code);
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
}

describe('bad input', () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald();
  });
  afterAll(() => herald.close());

  const cb = (body: unknown) => herald.api('POST', '/api/callback', body);

  it('refuses malformed JSON, empty bodies and non-objects', async () => {
    expectSdkError(await cb('{"url": '), 400, 'invalid_json');
    expectSdkError(await cb(''), 400, 'invalid_json');
    expectSdkError(await cb('[1,2]'), 400, 'invalid_request');
    expectProblem(await herald.api('POST', '/v1/events', '{nope'), 400, 'invalid_json');
  });

  it('refuses callback URLs that are not http(s) or not URLs', async () => {
    for (const url of [
      'ftp://example.com/x',
      'not a url',
      'javascript:alert(1)',
      '',
      'http://user:pw@127.0.0.1/x',
    ]) {
      expectSdkError(await cb({ url, events: ['PACKAGE_COMPLETE'] }), 400);
    }
    expectSdkError(await cb({ events: ['PACKAGE_COMPLETE'] }), 400, 'validation_failed');
  });

  it('refuses more than 5 custom headers, CR/LF, long keys and values, and reserved names', async () => {
    const url = 'http://127.0.0.1:9/x';
    const headers = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ key: `X-H${i}`, value: 'v' }));
    expectSdkError(await cb({ url, events: [], customHeaders: headers(6) }), 400, 'invalid_header');
    expectSdkError(
      await cb({ url, events: [], customHeaders: [{ key: 'X-A', value: 'a\r\nInjected: 1' }] }),
      400,
      'invalid_header',
    );
    expectSdkError(
      await cb({ url, events: [], customHeaders: [{ key: 'X-A\nB', value: 'a' }] }),
      400,
      'invalid_header',
    );
    expectSdkError(
      await cb({ url, events: [], customHeaders: [{ key: 'X'.repeat(51), value: 'a' }] }),
      400,
      'invalid_header',
    );
    expectSdkError(
      await cb({ url, events: [], customHeaders: [{ key: 'X-A', value: 'v'.repeat(101) }] }),
      400,
      'invalid_header',
    );
    expectSdkError(
      await cb({ url, events: [], customHeaders: [{ key: 'Authorization', value: 'Bearer x' }] }),
      400,
      'invalid_header',
    );
    const ok = await cb({ url, events: [], customHeaders: headers(5) });
    expect(ok.status).toBe(200);
  });

  it('refuses unknown connector origins and invalid event names in a subscription', async () => {
    expectSdkError(
      await herald.api('POST', '/api/callback/connectors/salesforce', {
        url: 'http://127.0.0.1:9/',
        events: [],
      }),
      404,
      'not_found',
    );
    expectSdkError(await herald.api('GET', '/api/callback/connectors/nope'), 404, 'not_found');
    expectSdkError(
      await cb({ url: 'http://127.0.0.1:9/', events: ['package complete'] }),
      400,
      'validation_failed',
    );
  });

  it('refuses a publish that declares a body over 32 MiB at once, even while others hold the publish budget', async () => {
    const { port } = new URL(herald.url);
    const headers = (length: number) =>
      `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // A slow publisher holds most of the budget: its body never finishes.
    const slow = connect(Number(port), '127.0.0.1', () => slow.write(headers(900_000) + '[{"na'));
    after(() => {
      slow.destroy();
    });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        // Headers only: the 64 MiB body never comes.
        socket.write(headers(64 * 1024 * 1024));
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
        if (text.includes('\r\n\r\n') && text.includes('}')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer: ${text}`)), 5000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('payload_too_large');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses events without a name, with an invalid name, without packageId, too large, and too many', async () => {
    const ev = (body: unknown) => herald.api('POST', '/v1/events', body);
    expectProblem(await ev({ packageId: 'p' }), 400, 'invalid_event');
    expectProblem(await ev({ name: 'not-valid', packageId: 'p' }), 400, 'invalid_event');
    expectProblem(await ev({ name: 'PACKAGE_COMPLETE' }), 400, 'invalid_event');
    expectProblem(
      await ev({ name: 'PACKAGE_COMPLETE', packageId: 'p', createdDate: 'yesterday' }),
      400,
      'invalid_event',
    );
    expectProblem(
      await ev({ name: 'PACKAGE_COMPLETE', packageId: 'p', message: 'x'.repeat(300 * 1024) }),
      413,
      'payload_too_large',
    );
    const batch = Array.from({ length: 1001 }, (_, i) => ({
      name: 'PACKAGE_CREATE',
      packageId: `p${i}`,
    }));
    expectProblem(await ev(batch), 400, 'batch_too_large');
    const withBad = [{ name: 'PACKAGE_CREATE', packageId: 'ok' }, { name: 'PACKAGE_CREATE' }];
    const res = await ev(withBad);
    expectProblem(res, 400, 'invalid_event');
    expect(res.body.errors[0].path).toBe('1/packageId');
    expectProblem(await ev([]), 400, 'invalid_event');
  });

  it('refuses JSON nested too deeply, NUL characters, and fractional page sizes', async () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    expectProblem(await herald.api('POST', '/v1/events', deep), 400);
    const deepField = `{"name":"PACKAGE_COMPLETE","packageId":"p","data":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;
    expectProblem(await herald.api('POST', '/v1/events', deepField), 400);
    expectSdkError(await cb(deep), 400);
    expectProblem(
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'p\u0000q' }),
      400,
      'invalid_event',
    );
    expectProblem(
      await herald.api('POST', '/v1/events', {
        name: 'PACKAGE_COMPLETE',
        packageId: 'p',
        data: { note: 'a\u0000b' },
      }),
      400,
      'invalid_event',
    );
    expectProblem(await herald.api('GET', '/v1/operational-events?limit=1.5'), 400);
    expectProblem(await herald.api('GET', '/v1/operational-events?limit=0'), 400);
    expectProblem(await herald.api('GET', '/v1/deliveries?limit=1.5'), 400);
    const endpoint = await herald.api('POST', '/v1/endpoints', {
      url: 'https://listener.example.com/\u0000',
      events: ['PACKAGE_COMPLETE'],
    });
    expectProblem(endpoint, 400);
  });

  it('refuses retry waits longer than 7 days, whatever unit they are written in', async () => {
    const make = (retrySchedule: unknown[]) =>
      herald.api('POST', '/v1/endpoints', {
        url: 'https://93.184.216.34/cb',
        events: ['PACKAGE_COMPLETE'],
        options: { retrySchedule },
      });
    expectProblem(await make(['8d']), 400, 'validation_failed');
    expectProblem(await make(['999999999h']), 400, 'validation_failed');
    expectProblem(await make([8 * 24 * 3600_000]), 400, 'validation_failed');
    expect((await make(['7d', '30s'])).status).toBe(201);
  });

  it('answers unknown and malformed ids with 404, and unknown routes with a problem', async () => {
    expectProblem(
      await herald.api('GET', '/v1/deliveries/dlv_01M8Q1D20E3FE38TBV4ZFFR1K6'),
      404,
      'not_found',
    );
    expectProblem(await herald.api('GET', '/v1/deliveries/nope'), 404, 'not_found');
    expectProblem(
      await herald.api('POST', '/v1/deliveries/dlv_01M8Q1D20E3FE38TBV4ZFFR1K6/retry'),
      404,
      'not_found',
    );
    expectProblem(
      await herald.api('GET', '/v1/events/evt_01M8Q1D20E3FE38TBV4ZFFR1K6'),
      404,
      'not_found',
    );
    expectProblem(
      await herald.api('GET', '/v1/endpoints/ep_01M8Q1D20E3FE38TBV4ZFFR1K6'),
      404,
      'not_found',
    );
    expectProblem(
      await herald.api('PATCH', '/v1/endpoints/ep_nope', { url: 'http://127.0.0.1:9/' }),
      404,
      'not_found',
    );
    expectProblem(await herald.api('GET', '/v1/nothing-here'), 404, 'not_found');
    expectProblem(await herald.api('GET', '/v1/deliveries?status=lost'), 400, 'invalid_request');
    expectProblem(await herald.api('GET', '/v1/deliveries?cursor=abc'), 400, 'invalid_cursor');
    expectProblem(
      await herald.api('GET', '/v1/deliveries?since=yesterday'),
      400,
      'invalid_request',
    );
  });

  it('answers a missing or wrong API key with 401', async () => {
    expectSdkError(
      await herald.api('GET', '/api/callback', undefined, { key: null }),
      401,
      'unauthorized',
    );
    expectSdkError(
      await herald.api('GET', '/api/callback', undefined, { key: 'wrong-key-000000000000' }),
      401,
      'unauthorized',
    );
    expectProblem(
      await herald.api(
        'POST',
        '/v1/events',
        { name: 'PACKAGE_COMPLETE', packageId: 'p' },
        { key: null, headers: { authorization: 'Basic' } },
      ),
      401,
    );
    expectProblem(await herald.api('GET', '/v1/accounts'), 403, 'forbidden');
    const res = await herald.api('GET', '/v1/endpoints', undefined, {
      key: null,
      headers: { authorization: `Basic ${TEST_API_KEY}x` },
    });
    expectProblem(res, 401, 'unauthorized');
  });
  it('refuses masked secrets sent to replace credentials, and keeps the stored ones', async () => {
    const created = await herald.api('POST', '/v1/endpoints', {
      url: 'https://93.184.216.34/cb',
      events: ['PACKAGE_COMPLETE'],
      auth: { type: 'BASIC', key: 'the-real-key-3456' },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    for (const body of [
      { key: '****zzzz' },
      { key: '****3456' },
      { refreshToken: '****alue' },
      { clientSecret: '****cret' },
      { salesforceKey: '****abcd' },
    ]) {
      const res = await herald.api('PUT', `/v1/endpoints/${id}/credentials`, body);
      expectProblem(res, 422, 'invalid_credentials');
      expect(res.body.detail).toMatch(/masked/);
    }
    const after = await herald.api('GET', `/v1/endpoints/${id}`);
    expect(after.body.auth.key).toBe('****3456');
  });
  it('ends the connection after refusing a chunked body as too large', async () => {
    const { port } = new URL(herald.url);
    const outcome = await new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        const chunk = 'x'.repeat(200 * 1024);
        socket.write(
          `POST /v1/endpoints HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
            `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
            `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
        );
      });
      let text = '';
      socket.on('data', (data) => (text += data.toString()));
      socket.on('close', () => resolve({ text, closed: true }));
      socket.on('error', reject);
      setTimeout(() => resolve({ text, closed: false }), 5000).unref();
    });
    expect(outcome.text).toMatch(/^HTTP\/1\.1 413/);
    expect(outcome.text.toLowerCase()).toContain('connection: close');
    expect(outcome.closed).toBe(true);
  });

  it('answers a publish body that trickles in with 408 at its deadline, and other publishers go on', async () => {
    const slowHerald = await startTestHerald({ HERALD_BODY_TIMEOUT: '500ms' });
    after(() => slowHerald.close());
    const { port } = new URL(slowHerald.url);
    // Slow publishers: each declares a large body (three the whole 1 MiB publish budget, one the
    // 32 MiB limit), sends a few bytes, and pauses.
    const sockets: Socket[] = [];
    after(() => sockets.forEach((socket) => socket.destroy()));
    const slow = (length: number) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () =>
          socket.write(
            `POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_API_KEY}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"name":`,
          ),
        );
        sockets.push(socket);
        let text = '';
        socket.on('data', (data) => (text += data.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
    const first = slow(1024 * 1024);
    void slow(1024 * 1024);
    void slow(1024 * 1024);
    void slow(32 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const other = await slowHerald.api('POST', '/v1/events', {
      name: 'PACKAGE_COMPLETE',
      packageId: 'not-held-back',
    });
    expect(other.status, other.text).toBe(202);
    const batch = await slowHerald.api(
      'POST',
      '/v1/events',
      Array.from({ length: 400 }, (_, i) => ({
        name: 'PACKAGE_COMPLETE',
        packageId: `batch-${i}`,
        message: 'm'.repeat(200),
      })),
    );
    expect(batch.status, batch.text).toBe(202);
    // Neither waited for the slow bodies' deadlines.
    expect(Date.now() - started).toBeLessThan(2000);
    // The first slow body: 500 ms plus 2 s for the MiB declared, not Node's 5 minutes.
    const answer = await first;
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('request_timeout');
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('refuses keys and URLs that could never be sent', async () => {
    const url = 'https://93.184.216.34/cb';
    for (const key of ['line\nbreak', 'bell\u0007', 'euro\u20ac', 'k'.repeat(1025)]) {
      expectProblem(
        await herald.api('POST', '/v1/endpoints', {
          url,
          events: ['PACKAGE_COMPLETE'],
          auth: { type: 'BASIC', key },
        }),
        400,
        'validation_failed',
      );
      expectSdkError(
        await cb({ url, key, events: ['PACKAGE_COMPLETE'] }),
        400,
        'validation_failed',
      );
    }
    for (const bad of [
      'https://93.184.216.34/c\nb',
      'https://93.184.216.34/a b',
      `https://93.184.216.34/${'p'.repeat(2100)}`,
      'https://93.184.216.34:0/cb',
    ]) {
      expectSdkError(await cb({ url: bad, events: ['PACKAGE_COMPLETE'] }), 400, 'invalid_url');
      expectProblem(
        await herald.api('POST', '/v1/endpoints', { url: bad, events: ['PACKAGE_COMPLETE'] }),
        400,
        'invalid_url',
      );
    }
  });

  it('refuses a reversed time range and page sizes not written as plain integers', async () => {
    const list = (query: string) => herald.api('GET', `/v1/deliveries?${query}`);
    const reversed = await list('since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z');
    expectProblem(reversed, 400, 'invalid_request');
    expect(reversed.body.detail).toMatch(/until must be after since/);
    for (const limit of ['1e2', '0x10', '+5', ' 7']) {
      expectProblem(await list(`limit=${encodeURIComponent(limit)}`), 400, 'invalid_request');
    }
    expect((await list('limit=10&since=2020-01-01T00:00:00Z')).status).toBe(200);
  });

  it('refuses OAuth custom parameters without a name or that would replace the grant’s own', async () => {
    for (const customParameters of [
      [{ key: '', value: 'x' }],
      [{ key: 'grant_type', value: 'password' }],
      [{ key: 'client_id', value: 'someone-else' }],
    ]) {
      const res = await herald.api('POST', '/v1/endpoints', {
        url: 'https://93.184.216.34/cb',
        events: ['PACKAGE_COMPLETE'],
        auth: {
          type: 'OAUTH2',
          tokenUrl: 'https://93.184.216.34/token',
          clientId: 'c',
          clientSecret: 's',
          customParameters,
        },
      });
      expectProblem(res, 400, 'validation_failed');
      expect(res.body.errors[0].path).toMatch(/customParameters\/0\/key$/);
    }
  });

  it('refuses text that is not valid Unicode (a lone surrogate), and keeps paired ones', async () => {
    for (const body of [
      '{"name":"PACKAGE_COMPLETE","packageId":"\\ud800"}',
      '{"name":"PACKAGE_COMPLETE","packageId":"p","data":{"note":"a\\udc00b"}}',
      '{"name":"PACKAGE_COMPLETE","packageId":"p","data":{"\\ud83d":1}}',
    ]) {
      expectProblem(await herald.api('POST', '/v1/events', body), 400, 'invalid_event');
    }
    const paired = await herald.api(
      'POST',
      '/v1/events',
      '{"name":"PACKAGE_COMPLETE","packageId":"p\\ud83d\\ude00"}',
    );
    expect(paired.status, paired.text).toBe(202);
    const stored = await herald.api('GET', `/v1/events/${paired.body.id}`);
    expect(stored.body.packageId).toBe('p\u{1F600}');
  });

  it('answers requests that HTTP itself cannot parse with a problem too', async () => {
    const { port } = new URL(herald.url);
    // A request in parts: the later ones are written once the earlier have been taken in.
    const raw = (request: string | string[]) =>
      new Promise<string>((resolve, reject) => {
        const [first, ...rest] = typeof request === 'string' ? [request] : request;
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(first!);
          rest.forEach((part, i) => setTimeout(() => socket.write(part), 200 * (i + 1)));
        });
        let text = '';
        socket.on('data', (data) => (text += data.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        setTimeout(() => reject(new Error(`no answer: ${text}`)), 5000).unref();
      });
    const big = 'a'.repeat(20 * 1024);
    const cases: Array<[string | string[], number, 'problem' | 'onespan']> = [
      ['POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'problem'],
      ['GARBAGE\r\n\r\n', 400, 'problem'],
      ['GET /healthz HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n', 400, 'problem'],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`, 431, 'problem'],
      // OneSpan's SDKs parse these too: the same refusals on /api/callback speak its dialect.
      ['POST /api/callback HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400, 'onespan'],
      [
        'GET /api/callback/connectors/salesforceOauth2 HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
        400,
        'onespan',
      ],
      [`GET /api/callback HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`, 431, 'onespan'],
      [
        'POST http://x/api/callback HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: nope\r\nContent-Length: 1\r\n\r\n',
        400,
        'onespan',
      ],
      // Broken framing in the body of a request already under way: its target is known.
      [
        [
          `POST /api/callback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n`,
          'zz\r\nnot a chunk\r\n',
        ],
        400,
        'onespan',
      ],
    ];
    for (const [request, status, dialect] of cases) {
      const answer = await raw(request);
      const what = String(request).slice(0, 60);
      expect(answer, what).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
        status?: number;
        code?: unknown;
        message?: unknown;
      };
      if (dialect === 'problem') {
        expect(answer.toLowerCase()).toContain('content-type: application/problem+json');
        expect(body.status).toBe(status);
      } else {
        expect(answer.toLowerCase()).toContain('content-type: application/json\r\n');
        expect(body.code, what).toBe(status);
        expect(body.message).toEqual(expect.any(String));
      }
    }
  });
});

describe('SSRF guard (without --allow-private-network)', () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_ALLOW_PRIVATE_NETWORK: '0' });
  });
  afterAll(() => herald.close());

  it.each([
    'http://127.0.0.1:8080/cb',
    'https://127.0.0.1/cb',
    'https://localhost/cb',
    'https://10.1.2.3/cb',
    'https://192.168.1.10/cb',
    'https://172.16.0.1/cb',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/cb',
    'https://[::ffff:127.0.0.1]/cb',
    'https://[::ffff:a9fe:a9fe]/cb',
    'https://100.64.0.1/cb',
    'https://0.0.0.0/cb',
    'https://[fe80::1]/cb',
    'https://[fc00::1]/cb',
  ])('refuses %s', async (url) => {
    const res = await herald.api('POST', '/api/callback', {
      url,
      key: 'k-1234567',
      events: ['PACKAGE_COMPLETE'],
    });
    expectSdkError(res, 422, 'destination_not_allowed');
    const v1 = await herald.api('POST', '/v1/endpoints', { url, events: ['PACKAGE_COMPLETE'] });
    expectProblem(v1, 422, 'destination_not_allowed');
  });

  it('refuses plain http to a public address, naming the setting that allows it', async () => {
    const res = await herald.api('POST', '/api/callback', {
      url: 'http://93.184.216.34/cb',
      events: [],
    });
    expectSdkError(res, 422, 'destination_not_allowed');
    expect(res.body.message).toMatch(/HERALD_ALLOW_PLAIN_HTTP=true/);
  });
});
