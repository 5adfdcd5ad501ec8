// No secret in a log line (SPEC 7), at the most talkative level: a flow through every kind of
// secret Herald holds or handles (master key, admin and API keys, a Basic callback key, a signing
// secret, a client secret, refresh tokens given and rotated, access tokens, the database password
// in the postgres project), along the paths that log: refreshes, a token that cannot be stored,
// a dead grant, a reconnect, an exhausted delivery, a failing subscriber of operational events. Every line is
// captured; none may contain any of them.

import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { EndpointId } from '../../src/domain/ids.js';
import { createLogger } from '../../src/observability/logger.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { generateMasterKey, SecretBox } from '../../src/services/secret-box.js';
import {
  eventually,
  startTestHerald,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestHerald,
} from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { refuseTokenWrites, type StoreLocation } from '../helpers/test-store.js';

const BASIC_KEY = 'basic-callback-key-5f1e9a';
const OPS_KEY = 'operations-callback-key-77c2d0';
const DB_PASSWORD = 'database-password-8c2d41';

const salesforceKey = (sandbox: Sandbox, refreshToken: string) =>
  Buffer.from(
    JSON.stringify({
      host: sandbox.url,
      client_id: sandbox.connectedApp.clientId,
      client_secret: sandbox.connectedApp.clientSecret,
      refresh_token: refreshToken,
    }),
  ).toString('base64');

describe('secrets in logs', () => {
  let herald: TestHerald | undefined;
  let sandbox: Sandbox | undefined;
  let listener: Listener | undefined;
  let operations: Listener | undefined;
  let schema: TestSchema | undefined;
  afterEach(async () => {
    await herald?.close();
    await sandbox?.close();
    await listener?.close();
    await operations?.close();
    await schema?.drop();
    herald = sandbox = listener = operations = schema = undefined;
  });

  it('logs none of the secrets a flow through every kind of credential handles, at trace level', async () => {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const masterKey = generateMasterKey();
    const box = SecretBox.fromText(masterKey);
    const secrets = new Map<string, string>([
      ['master key', masterKey],
      ['admin key', TEST_ADMIN_KEY],
      ['API key', TEST_API_KEY],
      ['Basic key', BASIC_KEY],
      ['operations key', OPS_KEY],
    ]);
    const org = await startSandbox({ rotation: true });
    sandbox = org;
    secrets.set('client secret', org.connectedApp.clientSecret);
    listener = await startListener((request) =>
      request.body.includes('"packageId":"never"') ? { status: 500 } : { status: 200 },
    );
    operations = await startListener(() => ({ status: 503 }));
    // The postgres project: a connection string with a password (trust auth ignores it).
    let location: StoreLocation | undefined;
    const env: Record<string, string> = {
      HERALD_MASTER_KEY: masterKey,
      HERALD_RETRY_SCHEDULE: '0s,100ms',
    };
    if (process.env.HERALD_TEST_STORE === 'postgres') {
      schema = await createTestSchema();
      const url = new URL(schema.url);
      url.password = DB_PASSWORD;
      env.HERALD_DATABASE_URL = url.toString();
      secrets.set('database password', DB_PASSWORD);
      location = { postgresUrl: schema.url };
    }
    const running = await startTestHerald(env, { logger: createLogger('trace', capture) });
    herald = running;
    location ??= { sqlitePath: join(running.dataDir, 'herald.db') };

    // Keys: a new account's first key, and one more made and revoked with it.
    const account = await running.api(
      'POST',
      '/v1/accounts',
      { name: 'b' },
      { key: TEST_ADMIN_KEY },
    );
    expect(account.status, account.text).toBe(201);
    const theirs = { key: account.body.apiKey.key as string };
    secrets.set('new account key', theirs.key);
    const extra = await running.api('POST', '/v1/api-keys', { name: 'ci' }, theirs);
    secrets.set('second API key', extra.body.key as string);
    expect(
      (await running.api('DELETE', `/v1/api-keys/${extra.body.id}`, undefined, theirs)).status,
    ).toBe(204);

    // A Basic endpoint with a signing secret; one of its events fails for good.
    const basic = await running.api('POST', '/v1/endpoints', {
      url: listener.url,
      events: ['PACKAGE_COMPLETE'],
      auth: { type: 'BASIC', key: BASIC_KEY },
      signing: true,
    });
    expect(basic.status, basic.text).toBe(201);
    secrets.set('signing secret', basic.body.signingSecret as string);
    // The account's trouble goes to an operations listener that keeps failing.
    const ops = await running.api('POST', '/v1/endpoints', {
      url: `${operations.url}/ops`,
      events: ['delivery.exhausted', 'endpoint.reauthorization_required'],
      auth: { type: 'BASIC', key: OPS_KEY },
    });
    expect(ops.status, ops.text).toBe(201);
    // A Salesforce endpoint: client secret and refresh token in its key.
    const rt0 = org.issueRefreshToken();
    secrets.set('refresh token given', rt0);
    const sf = await running.api('POST', '/api/callback/connectors/salesforceOauth2', {
      url: `${org.url}/services/apexrest/herald`,
      key: salesforceKey(org, rt0),
      events: ['DOCUMENT_SIGNED'],
    });
    expect(sf.status, sf.text).toBe(200);
    const sfId = (await running.api('GET', '/v1/endpoints')).body.data.find(
      (e: { origin: string | null }) => e.origin === 'salesforceOauth2',
    ).id as EndpointId;
    const rotated = async () => {
      const record = await running.store.getToken(sfId);
      if (record?.refreshTokenCiphertext) {
        secrets.set(
          `refresh token (generation ${record.generation})`,
          box.open(record.refreshTokenCiphertext),
        );
      }
    };
    let signed = 0;
    const deliverSigned = async () => {
      signed++;
      await running.api('POST', '/v1/events', { name: 'DOCUMENT_SIGNED', packageId: `d${signed}` });
      await eventually(
        () => (org.received.length >= signed ? true : undefined),
        15_000,
        `signed event ${signed}`,
      );
      await rotated();
    };

    for (const packageId of ['p1', 'p2', 'never']) {
      await running.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId }, theirs);
      await running.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId });
    }
    await deliverSigned(); // first refresh
    org.expireAccessTokens();
    await deliverSigned(); // a 401, a rotation
    // A rotated token the store refuses: logged as a failure, kept and stored later.
    await refuseTokenWrites(location, true);
    org.expireAccessTokens();
    await deliverSigned();
    await refuseTokenWrites(location, false);
    // A dead grant: the endpoint waits for a reconnect, which brings a new refresh token.
    org.revokeAllGrants();
    await running.api('POST', '/v1/events', { name: 'DOCUMENT_SIGNED', packageId: 'held' });
    await eventually(async () => {
      const e = (await running.api('GET', `/v1/endpoints/${sfId}`)).body;
      return e.auth.status === 'reauthorization_required' ? true : undefined;
    });
    const rtNew = org.issueRefreshToken();
    secrets.set('refresh token of the reconnect', rtNew);
    const reconnect = await running.api('PUT', `/v1/endpoints/${sfId}/credentials`, {
      salesforceKey: salesforceKey(org, rtNew),
    });
    expect(reconnect.status, reconnect.text).toBe(200);
    signed++; // the held event
    await deliverSigned();
    await eventually(async () => {
      const failed = await running.api(
        'GET',
        `/v1/deliveries?endpoint=${basic.body.id}&status=failed`,
      );
      return failed.body.data.length === 1 ? true : undefined;
    });
    await eventually(() => (operations!.received.length > 0 ? true : undefined));
    org.received.forEach((r, i) => secrets.set(`access token ${i}`, r.accessToken));
    await running.close();
    herald = undefined;

    // Lines of every kind were written: the capture saw what the flow logged.
    const levels = new Set(lines.map((l) => (JSON.parse(l) as { level: string }).level));
    expect([...levels].sort()).toEqual(expect.arrayContaining(['error', 'info', 'warn']));
    expect(lines.some((l) => l.includes('endpoint.reauthorization_required'))).toBe(true);
    expect(lines.some((l) => l.includes('could not store a refreshed OAuth token'))).toBe(true);
    const leaked = [...secrets].filter(([, secret]) => lines.some((l) => l.includes(secret)));
    expect(leaked.map(([what]) => what)).toEqual([]);
    expect(secrets.size).toBeGreaterThanOrEqual(12);
  });
});
