// OAuth delivery to a Salesforce-like org (Herald's sandbox): expiry, rotation, races, revocation.

import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';

const APEX_PATH = '/services/apexrest/herald/events';

function salesforceKey(fields: Record<string, string>): string {
  return Buffer.from(JSON.stringify(fields)).toString('base64');
}

async function publishConcurrently(
  herald: TestHerald,
  total: number,
  concurrency: number,
  name = 'DOCUMENT_SIGNED',
): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const n = next++;
        const res = await herald.api('POST', '/v1/events', {
          name,
          packageId: `pkg-${n}`,
          documentId: `doc-${n}`,
        });
        expect(res.status).toBe(202);
        ids.push(res.body.id as string);
      }
    }),
  );
  return ids;
}

function deliveredEventIds(sandbox: Sandbox): Set<string> {
  return new Set(sandbox.received.map((r) => r.headers['webhook-id']!));
}

describe('OAuth delivery to a Salesforce-like org', () => {
  let herald: TestHerald | undefined;
  let sandbox: Sandbox | undefined;
  afterEach(async () => {
    await herald?.close();
    await sandbox?.close();
    herald = undefined;
    sandbox = undefined;
  });

  it('survives expiry and rotation under load: 600 events, one token request at a time, the grant alive', async () => {
    // The org's clock stands still unless the test moves it: sessions end only when the test
    // ends them (two forced expiries and one idle timeout), however slow the machine is.
    let orgNow = Date.now();
    sandbox = await startSandbox({
      rotation: true,
      accessTokenTtlMs: 1500,
      concurrentRefresh: 'revoke',
      tokenLatencyMs: 50,
      now: () => orgNow,
    });
    const refreshToken = sandbox.issueRefreshToken();
    herald = await startTestHerald();
    const key = salesforceKey({
      host: sandbox.url,
      client_id: sandbox.connectedApp.clientId,
      refresh_token: refreshToken,
    });
    const reg = await herald.api('POST', '/api/callback/connectors/salesforceOauth2', {
      url: `${sandbox.url}${APEX_PATH}`,
      key,
      events: ['DOCUMENT_SIGNED'],
    });
    expect(reg.status, reg.text).toBe(200);
    expect(reg.text).not.toContain(refreshToken);

    // Four rounds of 150 events, 16 publishers at once; between rounds the session ends: forced
    // expiry, forced expiry, then an idle timeout. Each round opens with a burst of deliveries
    // that all meet the dead session.
    const endSession = [
      () => sandbox!.expireAccessTokens(),
      () => sandbox!.expireAccessTokens(),
      () => (orgNow += 1500), // the session in use has been idle for its whole lifetime
    ];
    const published: string[] = [];
    for (let round = 0; round < 4; round++) {
      if (round > 0) endSession[round - 1]!();
      published.push(...(await publishConcurrently(herald, 150, 16)));
      await eventually(
        () => (deliveredEventIds(sandbox!).size >= published.length ? true : undefined),
        30_000,
        `round ${round + 1} delivered`,
      );
    }
    await eventually(
      () => (deliveredEventIds(sandbox!).size >= 600 ? true : undefined),
      30_000,
      'all 600 delivered',
    );

    const delivered = deliveredEventIds(sandbox);
    expect(published.every((id) => delivered.has(id))).toBe(true);
    expect(
      sandbox.received.every((r) => r.headers.authorization === `Bearer ${r.accessToken}`),
    ).toBe(true);
    const stats = sandbox.stats;
    console.log(
      'oauth load test:',
      JSON.stringify({
        tokenRequests: stats.tokenRequests,
        byGrant: stats.byGrant,
        received: sandbox.received.length,
        rejected401: stats.listenerRejected401,
      }),
    );
    expect(stats.maxConcurrentTokenRequests).toBe(1);
    expect(stats.rotatedOutTokenPresented).toBe(0);
    expect(stats.concurrentRefreshRejections).toBe(0);
    expect(stats.grantsRevoked).toBe(0);
    // One first refresh, then one per session ended: four tokens in all.
    expect(stats.byGrant.refresh_token).toBe(4);
    const tokens = sandbox.received.map((r) => r.accessToken);
    expect(new Set(tokens).size).toBe(4);
    expect(stats.listenerRejected401).toBeGreaterThanOrEqual(3);
    const endpoint = (await herald.api('GET', '/v1/endpoints')).body.data[0];
    expect(endpoint.auth).toMatchObject({ type: 'OAUTH2', status: 'ok', flavor: 'salesforce' });
    // The grant is alive: the rotated refresh token stored by Herald still works.
    const failed = await herald.api('GET', '/v1/deliveries?status=failed');
    expect(failed.body.data).toEqual([]);
    expect(sandbox.stats.isGrantAlive(refreshToken)).toBe(true);
  }, 90_000);

  it('parks deliveries when the grant is revoked, and delivers them after reconnecting', async () => {
    sandbox = await startSandbox({ rotation: true });
    const refreshToken = sandbox.issueRefreshToken();
    herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '200ms,200ms,200ms' });
    const reg = await herald.api('POST', '/api/callback/connectors/salesforceOauth2', {
      url: `${sandbox.url}${APEX_PATH}`,
      key: salesforceKey({
        host: sandbox.url.replace(/^http:\/\//, 'http://'),
        client_id: sandbox.connectedApp.clientId,
        refresh_token: refreshToken,
      }),
      events: ['PACKAGE_COMPLETE'],
    });
    expect(reg.status, reg.text).toBe(200);
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'before' });
    await eventually(() => (sandbox!.received.length === 1 ? true : undefined));

    sandbox.revokeAllGrants();
    const tokenRequestsAtDeath = sandbox.stats.tokenRequests;
    await herald.api(
      'POST',
      '/v1/events',
      Array.from({ length: 20 }, (_, i) => ({ name: 'PACKAGE_COMPLETE', packageId: `after-${i}` })),
    );
    const endpoint = await eventually(
      async () => {
        const e = (await herald!.api('GET', '/v1/endpoints')).body.data[0];
        return e.auth.status === 'reauthorization_required' ? e : undefined;
      },
      15_000,
      'reauthorization_required',
    );
    const held = await eventually(
      async () => {
        const res = await herald!.api('GET', `/v1/deliveries?endpoint=${endpoint.id}&status=held`);
        return res.body.data.length === 20 ? res.body.data : undefined;
      },
      15_000,
      '20 held deliveries',
    );
    expect(held).toHaveLength(20);
    // Held is never attempted and never exhausts: nothing more happens until a reconnect.
    expect(held.every((d: { nextAttemptAt: unknown }) => d.nextAttemptAt === null)).toBe(true);
    expect((await herald.api('GET', '/v1/deliveries?status=failed')).body.data).toEqual([]);
    expect(sandbox.stats.tokenRequests - tokenRequestsAtDeath).toBeLessThanOrEqual(3);
    const ops = await herald.api('GET', '/v1/operational-events');
    expect(
      ops.body.data.some((e: { type: string }) => e.type === 'endpoint.reauthorization_required'),
    ).toBe(true);

    // Reconnect: a new key with a fresh refresh token.
    const fresh = sandbox.issueRefreshToken();
    const again = await herald.api('POST', '/api/callback/connectors/salesforceOauth2', {
      url: `${sandbox.url}${APEX_PATH}`,
      key: salesforceKey({
        host: sandbox.url,
        client_id: sandbox.connectedApp.clientId,
        refresh_token: fresh,
      }),
      events: ['PACKAGE_COMPLETE'],
    });
    expect(again.status).toBe(200);
    await eventually(
      () => (sandbox!.received.length === 21 ? true : undefined),
      10_000,
      'held events delivered',
    );
    await eventually(
      async () => {
        const e = (await herald!.api('GET', '/v1/endpoints')).body.data[0];
        return e.auth.status === 'ok' ? e : undefined;
      },
      15_000,
      'status ok',
    );
  }, 60_000);

  it('keeps the rotated refresh token when the configuration is posted back masked or the secret changes', async () => {
    sandbox = await startSandbox({ rotation: true });
    herald = await startTestHerald();
    const key = salesforceKey({
      host: sandbox.url,
      client_id: sandbox.connectedApp.clientId,
      refresh_token: sandbox.issueRefreshToken(),
    });
    const path = '/api/callback/connectors/salesforceOauth2';
    expect(
      (
        await herald.api('POST', path, {
          url: `${sandbox.url}${APEX_PATH}`,
          key,
          events: ['PACKAGE_COMPLETE'],
        })
      ).status,
    ).toBe(200);
    const deliver = async (n: number) => {
      await herald!.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: `m-${n}` });
      await eventually(
        () => (sandbox!.received.length === n ? true : undefined),
        10_000,
        `delivery ${n}`,
      );
      sandbox!.expireAccessTokens(); // the next delivery refreshes (and rotates) again
    };
    await deliver(1);
    // OneSpan-style GET, then POST the same body back: the key comes back masked.
    const got = await herald.api('GET', path);
    expect(got.body.key).toMatch(/^\*{4}/);
    const posted = await herald.api('POST', path, got.body);
    expect(posted.status, posted.text).toBe(200);
    await deliver(2);
    // A new client secret is a change of the credential, not of the grant.
    const id = (await herald.api('GET', '/v1/endpoints')).body.data[0].id;
    const put = await herald.api('PUT', `/v1/endpoints/${id}/credentials`, {
      clientSecret: sandbox.connectedApp.clientSecret,
    });
    expect(put.status, put.text).toBe(200);
    await deliver(3);
    expect(sandbox.stats.rotatedOutTokenPresented).toBe(0);
    expect(sandbox.stats.grantsRevoked).toBe(0);
    expect(sandbox.stats.byGrant.refresh_token).toBe(3);
  });

  it('reconnects through PUT /v1/endpoints/{id}/credentials too', async () => {
    sandbox = await startSandbox({ rotation: true });
    herald = await startTestHerald();
    const created = await endpointWithDeadGrant(herald, sandbox);
    await herald.api('POST', '/v1/events', { name: 'SIGNER_COMPLETE', packageId: 'p' });
    await eventually(async () => {
      const e = (await herald!.api('GET', `/v1/endpoints/${created.body.id}`)).body;
      return e.auth.status === 'reauthorization_required' ? true : undefined;
    });
    const put = await herald.api('PUT', `/v1/endpoints/${created.body.id}/credentials`, {
      refreshToken: sandbox.issueRefreshToken(),
    });
    expect(put.status).toBe(200);
    expect(put.body.auth.status).toBe('unverified');
    await eventually(() => (sandbox!.received.length === 1 ? true : undefined));
  });

  it('does not park new credentials for the late failure of the ones they replaced', async () => {
    sandbox = await startSandbox();
    herald = await startTestHerald();
    const created = await endpointWithDeadGrant(herald, sandbox);
    // The doomed refresh goes on the wire and its answer is kept waiting: reconnect meanwhile.
    const answerTokens = sandbox.holdTokenAnswers();
    await herald.api('POST', '/v1/events', { name: 'SIGNER_COMPLETE', packageId: 'late' });
    await eventually(() => (sandbox!.stats.tokenRequests >= 1 ? true : undefined));
    const put = await herald.api('PUT', `/v1/endpoints/${created.body.id}/credentials`, {
      refreshToken: sandbox.issueRefreshToken(),
    });
    expect(put.status, put.text).toBe(200);
    answerTokens();
    await eventually(() => (sandbox!.received.length === 1 ? true : undefined), 15_000);
    // The result (and with it the status) is written just after the listener answers.
    await eventually(async () => {
      const endpoint = (await herald!.api('GET', `/v1/endpoints/${created.body.id}`)).body;
      return endpoint.auth.status === 'ok' ? true : undefined;
    });
    const ops = await herald.api('GET', '/v1/operational-events');
    expect(
      ops.body.data.filter((e: { type: string }) => e.type === 'endpoint.reauthorization_required'),
    ).toEqual([]);
  });

  it('delivers with client credentials from a loosely written salesforceOauth2 key', async () => {
    sandbox = await startSandbox({ accessTokenTtlMs: 60_000 });
    sandbox.enableClientCredentials();
    herald = await startTestHerald();
    const loose = `{\n  host: "${sandbox.url}",\n  client_id: "${sandbox.connectedApp.clientId}",\n  client_secret: "${sandbox.connectedApp.clientSecret}",\n}`;
    const key = Buffer.from(loose)
      .toString('base64')
      .replace(/(.{40})/g, '$1\n');
    const reg = await herald.api('POST', '/api/callback/connectors/salesforceOauth2', {
      url: `${sandbox.url}${APEX_PATH}`,
      key,
      events: ['PACKAGE_CREATE'],
    });
    expect(reg.status, reg.text).toBe(200);
    await publishConcurrently(herald, 30, 4, 'PACKAGE_CREATE');
    await eventually(() => (sandbox!.received.length >= 30 ? true : undefined), 15_000);
    sandbox.expireAccessTokens();
    await publishConcurrently(herald, 30, 4, 'PACKAGE_CREATE');
    await eventually(() => (deliveredEventIds(sandbox!).size >= 60 ? true : undefined), 15_000);
    expect(sandbox.stats.byGrant.client_credentials).toBe(2);
    expect(sandbox.stats.maxConcurrentTokenRequests).toBe(1);
  });

  it('does not refresh for a 401 that a new token cannot fix', async () => {
    sandbox = await startSandbox();
    herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '100ms' });
    // A grant without the `api` scope: the listener refuses it as "not valid for use with the REST API".
    const refreshToken = sandbox.issueRefreshToken({ scope: 'refresh_token' });
    await herald.api('POST', '/api/callback/connectors/salesforceOauth2', {
      url: `${sandbox.url}${APEX_PATH}`,
      key: salesforceKey({
        host: sandbox.url,
        client_id: sandbox.connectedApp.clientId,
        refresh_token: refreshToken,
      }),
      events: ['KBA_FAILURE'],
    });
    await herald.api('POST', '/v1/events', { name: 'KBA_FAILURE', packageId: 'k' });
    const failed = await eventually(
      async () => (await herald!.api('GET', '/v1/deliveries?status=failed')).body.data[0],
      10_000,
    );
    expect(failed.attemptCount).toBe(2);
    expect(failed.lastStatusCode).toBe(401);
    expect(sandbox.stats.byGrant.refresh_token).toBe(1);
  });
});

/** A `/v1` endpoint whose Salesforce key holds a refresh token the org never issued. */
async function endpointWithDeadGrant(herald: TestHerald, sandbox: Sandbox) {
  const created = await herald.api('POST', '/v1/endpoints', {
    url: `${sandbox.url}${APEX_PATH}`,
    events: ['SIGNER_COMPLETE'],
    auth: {
      type: 'OAUTH2',
      salesforceKey: salesforceKey({
        host: sandbox.url,
        client_id: sandbox.connectedApp.clientId,
        refresh_token: 'not-a-real-token',
      }),
    },
  });
  expect(created.status, created.text).toBe(201);
  return created;
}
