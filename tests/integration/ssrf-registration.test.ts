// The SSRF guard where destinations are registered: callback URLs, token URLs, and changes of
// either through PATCH and new credentials (SPEC 5: refused at registration, not only at send).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { expectProblem } from '../helpers/problem.js';

describe('SSRF guard on token URLs and URL changes (only 127.0.0.1/32 allowed)', () => {
  // 127.0.0.1 is allow-listed, so listeners and token endpoints there register; 127.0.0.2 and
  // ::1 are loopback addresses outside the list, refused like any private address.
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({
      HERALD_ALLOW_PRIVATE_NETWORK: '0',
      HERALD_ALLOWED_NETWORKS: '127.0.0.1/32',
    });
  });
  afterAll(() => herald.close());

  const ALLOWED = 'http://127.0.0.1:9/hook';
  const REFUSED_TOKEN_URLS = [
    'http://127.0.0.2:9/services/oauth2/token',
    'https://[::1]/services/oauth2/token',
  ];
  const oauth = (tokenUrl: string) => ({
    type: 'OAUTH2',
    grantType: 'REFRESH_TOKEN',
    tokenUrl,
    clientId: 'client-1',
    clientSecret: 'client-secret-1',
    refreshToken: 'refresh-token-1',
    authMechanism: 'BODY',
  });
  const salesforceKey = (host: string) =>
    Buffer.from(
      JSON.stringify({
        host,
        client_id: 'client-1',
        client_secret: 'client-secret-2',
        refresh_token: 'refresh-token-2',
      }),
    ).toString('base64');

  async function anOAuthEndpoint(): Promise<string> {
    const created = await herald.api('POST', '/v1/endpoints', {
      url: ALLOWED,
      events: ['PACKAGE_COMPLETE'],
      auth: oauth('http://127.0.0.1:9/services/oauth2/token'),
    });
    expect(created.status, created.text).toBe(201);
    return created.body.id as string;
  }

  it.each(REFUSED_TOKEN_URLS)(
    'refuses to register an OAuth endpoint whose token URL is %s',
    async (tokenUrl) => {
      const before = (await herald.api('GET', '/v1/endpoints')).body.data.length;
      const res = await herald.api('POST', '/v1/endpoints', {
        url: ALLOWED,
        events: ['PACKAGE_COMPLETE'],
        auth: oauth(tokenUrl),
      });
      expectProblem(res, 422, 'destination_not_allowed');
      expect(res.body.detail).toMatch(/loopback address/);
      expect((await herald.api('GET', '/v1/endpoints')).body.data).toHaveLength(before);
      // The OneSpan route stores its OAuth settings through the same check.
      const onespan = await herald.api('POST', '/api/callback', {
        url: ALLOWED,
        events: ['PACKAGE_COMPLETE'],
        authType: 'OAUTH2',
        oauthSetting: {
          authorizationServerUrl: tokenUrl,
          clientId: 'client-1',
          clientSecret: 'client-secret-1',
          grantType: 'CLIENT_CREDENTIALS',
          authMechanism: 'BODY',
        },
      });
      expect(onespan.status, onespan.text).toBe(422);
      expect(onespan.text).toContain('destination_not_allowed');
      expect((await herald.api('GET', '/api/callback')).status).toBe(404);
    },
  );

  it.each(REFUSED_TOKEN_URLS)(
    'refuses to move a token URL to %s through PATCH or new credentials',
    async (tokenUrl) => {
      const id = await anOAuthEndpoint();
      // Every secret sent again with it: only the destination can be the reason.
      const patched = await herald.api('PATCH', `/v1/endpoints/${id}`, { auth: oauth(tokenUrl) });
      expectProblem(patched, 422, 'destination_not_allowed');
      const host = new URL(tokenUrl).origin;
      const replaced = await herald.api('PUT', `/v1/endpoints/${id}/credentials`, {
        salesforceKey: salesforceKey(host),
      });
      expectProblem(replaced, 422, 'destination_not_allowed');
      const after = (await herald.api('GET', `/v1/endpoints/${id}`)).body;
      expect(after.auth.tokenUrl).toBe('http://127.0.0.1:9/services/oauth2/token');
    },
  );

  it('checks a URL changed through PATCH, and keeps the change it allows', async () => {
    const created = await herald.api('POST', '/v1/endpoints', {
      url: ALLOWED,
      events: ['PACKAGE_COMPLETE'],
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    for (const url of ['http://127.0.0.2:9/hook', 'https://[::1]/hook']) {
      const refused = await herald.api('PATCH', `/v1/endpoints/${id}`, { url });
      expectProblem(refused, 422, 'destination_not_allowed');
    }
    expect((await herald.api('GET', `/v1/endpoints/${id}`)).body.url).toBe(ALLOWED);
    const moved = await herald.api('PATCH', `/v1/endpoints/${id}`, {
      url: 'http://127.0.0.1:10/moved',
    });
    expect(moved.status, moved.text).toBe(200);
    expect((await herald.api('GET', `/v1/endpoints/${id}`)).body.url).toBe(
      'http://127.0.0.1:10/moved',
    );
  });
});
