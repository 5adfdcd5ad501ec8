// Every JSON body on every route is outlined on its bytes before it is parsed: nesting deeper
// than 32 levels (33 for a publish batch's array) and batches of more than 1,000 events are
// refused without JSON.parse building them. The bodies below are cut off after the bound, so a
// body that reached the parser would be answered `invalid_json` instead.

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, TEST_ADMIN_KEY, type TestHerald } from '../helpers/herald.js';

const TOO_DEEP = `${'['.repeat(33)}oops`;
const nested = (levels: number, inner = '1') =>
  `${'{"a":'.repeat(levels - 1)}[${inner}]${'}'.repeat(levels - 1)}`;

describe('JSON bodies bounded before parsing', () => {
  let herald: TestHerald;
  let endpointId: string;
  beforeAll(async () => {
    herald = await startTestHerald();
    const created = await herald.api('POST', '/v1/endpoints', {
      url: 'http://127.0.0.1:9/never',
      events: [],
    });
    endpointId = created.body.id;
  });
  afterAll(() => herald.close());

  it('refuses a body nesting more than 32 levels on every JSON route, before parsing it', async () => {
    const routes: Array<[string, string, { key?: string }?]> = [
      ['POST', '/api/callback'],
      ['POST', '/api/callback/connectors/salesforceOauth2'],
      ['POST', '/v1/endpoints'],
      ['PATCH', `/v1/endpoints/${endpointId}`],
      ['PUT', `/v1/endpoints/${endpointId}/credentials`],
      ['POST', `/v1/endpoints/${endpointId}/recover`],
      ['POST', `/v1/endpoints/${endpointId}/test`],
      ['POST', '/v1/api-keys'],
      ['POST', '/v1/accounts', { key: TEST_ADMIN_KEY }],
    ];
    for (const [method, path, options] of routes) {
      const res = await herald.api(method, path, TOO_DEEP, options);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(400);
      expect(JSON.stringify(res.body), `${method} ${path}`).toContain(
        'nests more than 32 levels of objects and arrays',
      );
    }
    // 32 levels are fine (this one is then refused for its fields, after parsing).
    const res = await herald.api('POST', '/v1/endpoints', nested(32));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.text).not.toContain('nests more than');
  });

  it('bounds a publish: 32 levels per event (33 in a batch), 1,000 events, before parsing', async () => {
    const publish = (body: string) => herald.api('POST', '/v1/events', body);
    const event = (levels: number) =>
      `{"name":"PACKAGE_CREATE","packageId":"p","data":${nested(levels - 1)}}`;
    expect((await publish(event(32))).status).toBe(202);
    expect((await publish(`[${event(32)}]`)).status).toBe(202);
    for (const body of [event(33), `[${event(33)}]`, `[${TOO_DEEP}`]) {
      const res = await publish(body.slice(0, body.lastIndexOf('[') + 1) + 'oops');
      expect(res.status, res.text).toBe(400);
      expect(res.body.code).toBe('invalid_event');
      expect(res.body.detail).toMatch(/nests more than 32 levels/);
    }
    const one = '{"name":"PACKAGE_CREATE","packageId":"p"}';
    expect((await publish(`[${Array(1000).fill(one).join(',')}]`)).status).toBe(202);
    const tooMany = await publish(`[${Array(1001).fill(one).join(',')},oops`);
    expect(tooMany.status, tooMany.text).toBe(400);
    expect(tooMany.body.code).toBe('batch_too_large');
    // An event larger than 256 KiB, alone or in a batch, is not parsed either.
    const wide = `{"name":"PACKAGE_CREATE","packageId":"p","data":[${'0,'.repeat(150_000)}`;
    for (const body of [wide, `[${one},${wide}`]) {
      const res = await publish(`${body}oops`);
      expect(res.status, res.text).toBe(413);
      expect(res.body.code).toBe('payload_too_large');
    }
  });

  it('refuses a chunked bracket bomb once it is past the bound, and reads the rest without keeping it', async () => {
    // 4 MiB of `[` sent without Content-Length, in 64 KiB writes.
    const chunk = '['.repeat(64 * 1024);
    const url = new URL('/v1/events', herald.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: 'Bearer test-api-key-0123456789abcdef',
            'content-type': 'application/json',
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 64; i++) req.write(chunk);
      req.end();
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'invalid_event' });
    // The connection's next request is answered as usual.
    expect((await herald.api('GET', '/v1/endpoints')).status).toBe(200);
  });
});
