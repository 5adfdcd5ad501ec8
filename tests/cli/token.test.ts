// `herald token test|refresh|revoke|introspect` as subprocesses, against the sandbox.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { eventually, startTestHerald, TEST_API_KEY, type TestHerald } from '../helpers/herald.js';
import { runCli } from '../helpers/process.js';

describe('herald token', () => {
  let sandbox: Sandbox;
  let herald: TestHerald;
  let endpointId: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandbox = await startSandbox({ rotation: true });
    herald = await startTestHerald();
    env = { HERALD_URL: herald.url, HERALD_API_KEY: TEST_API_KEY };
    const key = Buffer.from(
      JSON.stringify({
        host: sandbox.url,
        client_id: sandbox.connectedApp.clientId,
        client_secret: sandbox.connectedApp.clientSecret,
        refresh_token: sandbox.issueRefreshToken(),
      }),
    ).toString('base64');
    const ep = await herald.api('POST', '/v1/endpoints', {
      url: `${sandbox.url}/services/apexrest/tokens`,
      events: ['PACKAGE_COMPLETE'],
      auth: { type: 'OAUTH2', salesforceKey: key },
    });
    expect(ep.status, ep.text).toBe(201);
    endpointId = ep.body.id;
  });
  afterAll(async () => {
    await herald.close();
    await sandbox.close();
  });

  it('test: refreshes once, reports the org and user, and keeps the rotated token so the grant lives', async () => {
    const result = await runCli(['token', 'test', '--endpoint', endpointId, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ ok: true, instanceUrl: sandbox.url, rotated: true });
    expect(report.identity.username).toBe(sandbox.users[0]!.username);
    expect(report.scope).toMatch(/api/);
    expect(result.stdout).not.toMatch(/5Aep/);
    // A second test and a delivery still work: the rotated token was stored, none replayed.
    expect((await runCli(['token', 'refresh', '--endpoint', endpointId], env)).code).toBe(0);
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'tok-1' });
    await eventually(() => (sandbox.received.length === 1 ? true : undefined));
    expect(sandbox.stats.rotatedOutTokenPresented).toBe(0);
    expect(sandbox.stats.grantsRevoked).toBe(0);
  });

  it('introspect: the access token in use is active', async () => {
    const result = await runCli(['token', 'introspect', '--endpoint', endpointId, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      active: true,
      client_id: sandbox.connectedApp.clientId,
    });
  });

  it('direct: tests a token given on the command line and prints the rotated one', async () => {
    const token = sandbox.issueRefreshToken();
    const args = [
      '--login-url',
      sandbox.url,
      '--client-id',
      sandbox.connectedApp.clientId,
      '--json',
    ];
    const result = await runCli(['token', 'test', ...args, '--refresh-token', token]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.rotated).toBe(true);
    expect(sandbox.stats.isGrantAlive(report.newRefreshToken)).toBe(true);
    const revoked = await runCli(['token', 'revoke', ...args, '--token', report.newRefreshToken]);
    expect(JSON.parse(revoked.stdout).result).toBe('revoked');
    expect(sandbox.stats.isGrantAlive(report.newRefreshToken)).toBe(false);
    const again = await runCli(['token', 'revoke', ...args, '--token', report.newRefreshToken]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).result).toBe('already_invalid');
    const dead = await runCli([
      'token',
      'test',
      ...args,
      '--refresh-token',
      report.newRefreshToken,
    ]);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/terminal/);
  });

  it('revoke: ends the grant and parks the endpoint until it is reconnected', async () => {
    const result = await runCli(['token', 'revoke', '--endpoint', endpointId], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Revoked/);
    const endpoint = (await herald.api('GET', `/v1/endpoints/${endpointId}`)).body;
    expect(endpoint.auth.status).toBe('reauthorization_required');
    const requests = sandbox.stats.tokenRequests;
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'tok-2' });
    await eventually(async () =>
      (await herald.api('GET', `/v1/deliveries?endpoint=${endpointId}&status=held`)).body.data
        .length === 1
        ? true
        : undefined,
    );
    expect(sandbox.stats.tokenRequests).toBe(requests);
  });
});
