// Herald's own credentials are never stored as a listener or a token endpoint echoes them: the
// bearer token, the Basic key (raw and base64) and custom header values in a response body, the
// client secret in a token endpoint's refusal, all become `[redacted]` before anything is
// stored, on either store, in the API's answers and in the data files.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListener, type Listener, type Received } from '../helpers/listener.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';

const ACCESS_TOKEN = 'at-echoed-0123456789abcdef';
const BASIC_KEY = 'basic-key-echoed-0123456789';
const HEADER_SECRET = 'header-secret-echoed-0123';
const CLIENT_SECRET = 'client-secret-echoed-0123';

/** What an echoing listener answers: every request header, and the credential in base64 too. */
function echo(request: Received) {
  const credential = String(request.headers.authorization ?? '').replace(/^\S+ /, '');
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      headers: request.headers,
      base64: Buffer.from(credential).toString('base64'),
    }),
  };
}

/** Every byte Herald keeps on disk (the SQLite file, its WAL and shm), as one Latin-1 string. */
function dataFiles(herald: TestHerald): string {
  return readdirSync(herald.dataDir)
    .filter((f) => f.startsWith('herald.db'))
    .map((f) => readFileSync(join(herald.dataDir, f)).toString('latin1'))
    .join('\n');
}

describe('credentials redacted from what is stored', () => {
  let herald: TestHerald;
  let listener: Listener;
  let tokens: Listener;
  beforeAll(async () => {
    herald = await startTestHerald();
    listener = await startListener(echo);
    tokens = await startListener(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'Bearer' }),
    }));
  });
  afterAll(async () => {
    await herald.close();
    await listener.close();
    await tokens.close();
  });

  /**
   * Publishes one event and returns its delivery to `endpointId` as the API shows it, once
   * `ready` says so (by default: once attempted).
   */
  async function delivery(
    endpointId: string,
    packageId: string,
    ready = (d: { attempts: unknown[] }) => d.attempts.length > 0,
  ) {
    const published = await herald.api('POST', '/v1/events', {
      name: 'PACKAGE_COMPLETE',
      packageId,
    });
    expect(published.status).toBe(202);
    return eventually(async () => {
      const list = await herald.api(
        'GET',
        `/v1/deliveries?endpoint=${endpointId}&event=${published.body.id}`,
      );
      const id = list.body.data[0]?.id;
      if (!id) return undefined;
      const found = await herald.api('GET', `/v1/deliveries/${id}`);
      return ready(found.body) ? found : undefined;
    });
  }

  /** A client-credentials endpoint on the echoing listener, with its token endpoint. */
  const oauthEndpoint = (path: string, tokenUrl: string, clientSecret: string, extra = {}) =>
    herald.api('POST', '/v1/endpoints', {
      url: `${listener.url}${path}`,
      events: ['PACKAGE_COMPLETE'],
      auth: {
        type: 'OAUTH2',
        tokenUrl,
        clientId: 'client',
        clientSecret,
        grantType: 'CLIENT_CREDENTIALS',
        authMechanism: 'BODY',
      },
      ...extra,
    });

  it('keeps no bearer token, Basic key or header secret of an echoing listener', async () => {
    const oauth = await oauthEndpoint('/oauth', `${tokens.url}/token`, 'client-secret-0001', {
      customHeaders: [{ key: 'X-Api-Key', value: HEADER_SECRET }],
    });
    expect(oauth.status, oauth.text).toBe(201);
    const delivered = await delivery(oauth.body.id, 'bearer');
    expect(listener.received.at(-1)!.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    const body = delivered.body.attempts[0].responseBody as string;
    expect(body).toContain('[redacted]');
    expect(body).toContain('"x-api-key":"[redacted]"');
    expect(delivered.text).not.toContain(ACCESS_TOKEN);
    expect(delivered.text).not.toContain(Buffer.from(ACCESS_TOKEN).toString('base64'));
    expect(delivered.text).not.toContain(HEADER_SECRET);

    const basic = await herald.api('POST', '/v1/endpoints', {
      url: `${listener.url}/basic`,
      events: ['PACKAGE_COMPLETE'],
      auth: { type: 'BASIC', key: BASIC_KEY },
    });
    const basicDelivery = await delivery(basic.body.id, 'basic');
    expect(basicDelivery.text).toContain('[redacted]');
    expect(basicDelivery.text).not.toContain(BASIC_KEY);
    expect(basicDelivery.text).not.toContain(Buffer.from(BASIC_KEY).toString('base64'));

    // A test send answers with the listener's body too.
    const probe = await herald.api('POST', `/v1/endpoints/${oauth.body.id}/test`);
    expect(probe.status).toBe(200);
    expect(probe.text).toContain('[redacted]');
    expect(probe.text).not.toContain(ACCESS_TOKEN);

    // Nothing on disk either: the SQLite file and its WAL (PostgreSQL: what the store returns).
    if (process.env.HERALD_TEST_STORE === 'postgres') {
      const attempts = await herald.store.listAttempts(delivered.body.id);
      expect(JSON.stringify(attempts)).toContain('[redacted]');
      expect(JSON.stringify(attempts)).not.toContain(ACCESS_TOKEN);
    } else {
      const files = dataFiles(herald);
      expect(files).toContain('[redacted]');
      expect(files).not.toContain(ACCESS_TOKEN);
      expect(files).not.toContain(BASIC_KEY);
      expect(files).not.toContain(HEADER_SECRET);
    }
    await herald.api('DELETE', `/v1/endpoints/${oauth.body.id}`);
    await herald.api('DELETE', `/v1/endpoints/${basic.body.id}`);
  });

  it('keeps no client secret that a token endpoint echoes in its refusal', async () => {
    const refusing = await startListener((request) => ({
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        error: 'invalid_client',
        error_description: `unknown client secret ${new URLSearchParams(request.body).get('client_secret')}`,
      }),
    }));
    try {
      const created = await oauthEndpoint('/refused', `${refusing.url}/token`, CLIENT_SECRET);
      const held = await delivery(
        created.body.id,
        'refused',
        (d) => (d as unknown as { lastError: string | null }).lastError !== null,
      );
      expect(refusing.received.length).toBeGreaterThan(0);
      expect(held.body.status).toBe('held');
      expect(held.text).toContain('[redacted]');
      expect(held.text).not.toContain(CLIENT_SECRET);
      // Submitted again, the credential is tried again: the answer of a token test, the same.
      const again = await herald.api('PUT', `/v1/endpoints/${created.body.id}/credentials`, {
        clientSecret: CLIENT_SECRET,
      });
      expect(again.status, again.text).toBe(200);
      const test = await herald.api('POST', `/v1/endpoints/${created.body.id}/token/test`);
      expect(test.text).toContain('[redacted]');
      expect(test.text).not.toContain(CLIENT_SECRET);
      const ops = await herald.api('GET', '/v1/operational-events');
      expect(ops.text).not.toContain(CLIENT_SECRET);
      const token = await herald.store.getToken(created.body.id);
      expect(token?.deadReason).toContain('[redacted]');
      if (process.env.HERALD_TEST_STORE !== 'postgres') {
        expect(dataFiles(herald)).not.toContain(CLIENT_SECRET);
      }
    } finally {
      await refusing.close();
    }
  });
});
