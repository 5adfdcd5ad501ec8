// A stored secret goes only to the origin (scheme, host, port) it was given for: the callback URL
// for a Basic key and custom header values, the token endpoint (or the Salesforce host) for
// client secrets and refresh tokens. Moving a destination with the secret masked or left out is
// refused (422 secret_required), and nothing reaches the new destination; the same origin with
// the masked value keeps the stored secret (OneSpan's SDK posts the GET body back).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListener, type Listener } from '../helpers/listener.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

const TOKEN_ANSWER = {
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ access_token: 'at-from-a', token_type: 'Bearer' }),
};

/** Asserts a refusal for `field`, in either error dialect of /api/callback or /v1. */
function expectSecretRequired(res: { status: number; body: unknown }, field: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  const text = JSON.stringify(res.body);
  expect(text).toContain('secret_required');
  expect(text).toContain(field);
}

describe('secrets bound to their destination', () => {
  let herald: TestHerald;
  /** The listener every endpoint is registered with, and another origin (an attacker's). */
  let home: Listener;
  let elsewhere: Listener;
  /** Token endpoints: the one the credential was given for, and another origin. */
  let tokenHome: Listener;
  let tokenElsewhere: Listener;
  let published = 0;

  beforeAll(async () => {
    herald = await startTestHerald();
    home = await startListener();
    elsewhere = await startListener();
    tokenHome = await startListener(() => TOKEN_ANSWER);
    tokenElsewhere = await startListener(() => TOKEN_ANSWER);
  });
  afterAll(async () => {
    await herald.close();
    for (const l of [home, elsewhere, tokenHome, tokenElsewhere]) await l.close();
  });

  /** Publishes one event and returns the request the home listener got for it. */
  async function deliverHome(name = 'PACKAGE_COMPLETE') {
    const before = home.received.length;
    expect(
      (await herald.api('POST', '/v1/events', { name, packageId: `p-${++published}` })).status,
    ).toBe(202);
    const received = await home.waitFor(before + 1);
    return received[before]!;
  }

  it('/api/callback: a masked key never follows the URL to another origin', async () => {
    const registered = await herald.api('POST', '/api/callback', {
      url: `${home.url}/cb`,
      key: 'callback-key-0001',
      events: ['PACKAGE_COMPLETE'],
      customHeaders: [{ key: 'X-Api-Key', value: 'header-secret-0002' }],
    });
    expect(registered.status, registered.text).toBe(200);
    expect(registered.body.key).toBe('****0001');
    expect(registered.body.customHeaders).toEqual([{ key: 'X-Api-Key', value: '****0002' }]);

    // OneSpan's SDK: GET, change the events, POST the body back. Same origin: secrets kept.
    const got = await herald.api('GET', '/api/callback');
    expect(got.text).not.toContain('header-secret-0002');
    const reposted = await herald.api('POST', '/api/callback', {
      ...got.body,
      url: `${home.url}/other-path`,
      events: ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED'],
    });
    expect(reposted.status, reposted.text).toBe(200);
    const kept = await deliverHome('DOCUMENT_SIGNED');
    expect(kept.path).toBe('/other-path');
    expect(kept.headers.authorization).toBe('Basic callback-key-0001');
    expect(kept.headers['x-api-key']).toBe('header-secret-0002');

    // Another origin with the masked key: refused, and the configuration stays as it was.
    const moved = await herald.api('POST', '/api/callback', { ...got.body, url: elsewhere.url });
    expectSecretRequired(moved, 'key');
    // ... and with a new key but the header value masked: refused for the header.
    const headerMoved = await herald.api('POST', '/api/callback', {
      ...got.body,
      url: elsewhere.url,
      key: 'a-new-key-for-elsewhere',
    });
    expectSecretRequired(headerMoved, 'customHeaders/0/value');
    expect((await herald.api('GET', '/api/callback')).body.url).toBe(`${home.url}/other-path`);
    await deliverHome();
    expect(elsewhere.received).toHaveLength(0);

    // Sent in full, the secrets may go anywhere.
    const full = await herald.api('POST', '/api/callback', {
      url: elsewhere.url,
      key: 'callback-key-0003',
      events: ['PACKAGE_COMPLETE'],
      customHeaders: [{ key: 'X-Api-Key', value: 'header-secret-0004' }],
    });
    expect(full.status, full.text).toBe(200);
    expect((await herald.api('DELETE', '/api/callback')).status).toBe(204);
  });

  it('connectors: a masked client secret or refresh token never follows the token endpoint', async () => {
    const path = '/api/callback/connectors/dynamics2015';
    const oauthSetting = {
      clientId: 'client-1',
      clientSecret: 'client-secret-0005',
      authorizationServerUrl: `${tokenHome.url}/oauth2/token`,
      grantType: 'CLIENT_CREDENTIALS',
      authMechanism: 'BODY',
    };
    const registered = await herald.api('POST', path, {
      url: home.url,
      events: ['PACKAGE_COMPLETE'],
      authType: 'OAUTH2',
      oauthSetting,
    });
    expect(registered.status, registered.text).toBe(200);
    const got = (await herald.api('GET', path)).body;
    expect(got.oauthSetting.clientSecret).toBe('****0005');

    const moved = await herald.api('POST', path, {
      ...got,
      oauthSetting: { ...got.oauthSetting, authorizationServerUrl: `${tokenElsewhere.url}/token` },
    });
    expectSecretRequired(moved, 'oauthSetting/clientSecret');
    // The same token endpoint origin on another path keeps the masked secret.
    const samePlace = await herald.api('POST', path, {
      ...got,
      oauthSetting: { ...got.oauthSetting, authorizationServerUrl: `${tokenHome.url}/v2/token` },
    });
    expect(samePlace.status, samePlace.text).toBe(200);
    const delivered = await deliverHome();
    expect(delivered.headers.authorization).toBe('Bearer at-from-a');
    const tokenRequest = new URLSearchParams(tokenHome.received.at(-1)!.body);
    expect(tokenRequest.get('client_secret')).toBe('client-secret-0005');
    expect(tokenElsewhere.received).toHaveLength(0);
    expect((await herald.api('DELETE', path)).status).toBe(204);
  });

  it('/api/callback: a masked refresh token never follows the token endpoint', async () => {
    const registered = await herald.api('POST', '/api/callback', {
      url: home.url,
      events: ['PACKAGE_COMPLETE'],
      authType: 'OAUTH2',
      oauthSetting: {
        clientId: 'client-2',
        refreshToken: 'refresh-token-0006',
        authorizationServerUrl: `${tokenHome.url}/token`,
        grantType: 'REFRESH_TOKEN',
      },
    });
    expect(registered.status, registered.text).toBe(200);
    const got = (await herald.api('GET', '/api/callback')).body;
    const moved = await herald.api('POST', '/api/callback', {
      ...got,
      oauthSetting: { ...got.oauthSetting, authorizationServerUrl: `${tokenElsewhere.url}/token` },
    });
    expectSecretRequired(moved, 'oauthSetting/refreshToken');
    expect(tokenElsewhere.received).toHaveLength(0);
    expect((await herald.api('DELETE', '/api/callback')).status).toBe(204);
  });

  it('PATCH /v1/endpoints/{id}: a new URL or token URL takes no stored secret along', async () => {
    const created = await herald.api('POST', '/v1/endpoints', {
      url: `${home.url}/v1`,
      events: ['PACKAGE_COMPLETE'],
      auth: { type: 'BASIC', key: 'v1-basic-key-0007' },
      customHeaders: [{ key: 'X-Tenant-Secret', value: 'tenant-secret-0008' }],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.customHeaders).toEqual([{ key: 'X-Tenant-Secret', value: '****0008' }]);
    const id = created.body.id as string;
    const patch = (body: unknown) => herald.api('PATCH', `/v1/endpoints/${id}`, body);

    // Only a new URL: the stored key and header values would follow it.
    const urlOnly = await patch({ url: elsewhere.url });
    expectSecretRequired(urlOnly, 'auth/key');
    expect(urlOnly.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'auth/key',
      'customHeaders',
    ]);
    expectSecretRequired(
      await patch({ url: elsewhere.url, auth: { type: 'BASIC', key: '****0007' } }),
      'customHeaders',
    );
    expectSecretRequired(
      await patch({
        url: elsewhere.url,
        auth: { type: 'BASIC', key: 'v1-basic-key-0009' },
        customHeaders: [{ key: 'X-Tenant-Secret', value: '****0008' }],
      }),
      'customHeaders/0/value',
    );
    // The same origin: kept, masked or left out.
    const samePlace = await patch({
      url: `${home.url}/v1-moved`,
      customHeaders: [{ key: 'x-tenant-secret', value: '****0008' }],
    });
    expect(samePlace.status, samePlace.text).toBe(200);
    const delivered = await deliverHome();
    expect(delivered.path).toBe('/v1-moved');
    expect(delivered.headers.authorization).toBe('Basic v1-basic-key-0007');
    expect(delivered.headers['x-tenant-secret']).toBe('tenant-secret-0008');
    expect(elsewhere.received).toHaveLength(0);

    // Everything sent anew may move.
    const moved = await patch({
      url: elsewhere.url,
      auth: { type: 'BASIC', key: 'v1-basic-key-0010' },
      customHeaders: [],
    });
    expect(moved.status, moved.text).toBe(200);
    expect((await herald.api('DELETE', `/v1/endpoints/${id}`)).status).toBe(204);
  });

  it('PATCH /v1/endpoints/{id}: masked OAuth secrets stay with their token endpoint', async () => {
    const created = await herald.api('POST', '/v1/endpoints', {
      url: home.url,
      events: ['PACKAGE_COMPLETE'],
      auth: {
        type: 'OAUTH2',
        tokenUrl: `${tokenHome.url}/token`,
        clientId: 'client-3',
        clientSecret: 'client-secret-0011',
        grantType: 'CLIENT_CREDENTIALS',
      },
    });
    expect(created.status, created.text).toBe(201);
    const { clientId, clientSecret, grantType } = created.body.auth;
    expect(clientSecret).toBe('****0011');
    const moved = await herald.api('PATCH', `/v1/endpoints/${created.body.id}`, {
      auth: {
        type: 'OAUTH2',
        tokenUrl: `${tokenElsewhere.url}/token`,
        clientId,
        clientSecret,
        grantType,
      },
    });
    expectSecretRequired(moved, 'auth/clientSecret');
    await deliverHome();
    expect(tokenElsewhere.received).toHaveLength(0);
    expect((await herald.api('DELETE', `/v1/endpoints/${created.body.id}`)).status).toBe(204);
  });

  it('PUT /v1/endpoints/{id}/credentials: a Salesforce key for another host needs its client secret again', async () => {
    const key = (fields: Record<string, string>) =>
      Buffer.from(JSON.stringify(fields)).toString('base64');
    const created = await herald.api('POST', '/v1/endpoints', {
      url: home.url,
      events: ['PACKAGE_COMPLETE'],
      auth: {
        type: 'OAUTH2',
        salesforceKey: key({
          host: tokenHome.url,
          client_id: 'client-4',
          refresh_token: 'refresh-token-0012',
          client_secret: 'client-secret-0013',
        }),
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    const elsewhereKey = key({
      host: tokenElsewhere.url,
      client_id: 'client-4',
      refresh_token: 'refresh-token-0014',
    });
    const moved = await herald.api('PUT', `/v1/endpoints/${id}/credentials`, {
      salesforceKey: elsewhereKey,
    });
    expectSecretRequired(moved, 'clientSecret');
    expect((await herald.api('GET', `/v1/endpoints/${id}`)).body.auth.tokenUrl).toBe(
      `${tokenHome.url}/services/oauth2/token`,
    );
    await deliverHome();
    expect(tokenElsewhere.received).toHaveLength(0);

    // The same host keeps the stored client secret, as before.
    const sameHost = await herald.api('PUT', `/v1/endpoints/${id}/credentials`, {
      salesforceKey: key({ host: tokenHome.url, client_id: 'client-4', refresh_token: 'rt-15' }),
    });
    expect(sameHost.status, sameHost.text).toBe(200);
    expect(sameHost.body.auth.clientSecret).toBe('****0013');
    // With the client secret sent again, the credential may move.
    const withSecret = await herald.api('PUT', `/v1/endpoints/${id}/credentials`, {
      salesforceKey: elsewhereKey,
      clientSecret: 'client-secret-0016',
    });
    expect(withSecret.status, withSecret.text).toBe(200);
    expect(withSecret.body.auth.clientSecret).toBe('****0016');
    expect((await herald.api('DELETE', `/v1/endpoints/${id}`)).status).toBe(204);
  });
});
