// `herald connect salesforce` as a subprocess against the sandbox: the authorization URL, PKCE,
// state, the code exchange, denial, a forged redirect, a missing scope, storing into an endpoint,
// and --paste for a remote machine (the redirect's address pasted, no listener).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { driveSandboxLogin } from '../../src/sandbox/login-driver.js';
import { eventually, startTestHerald, TEST_API_KEY, type TestHerald } from '../helpers/herald.js';
import { spawn } from 'node:child_process';
import { freePort } from '../helpers/ports.js';
import {
  connectToSandbox,
  HERALD_BIN,
  sandboxAppArgs,
  startConnect,
  startConnectOnFreePort,
  type CliResult,
} from '../helpers/process.js';

const connect = startConnect;

/** Runs connect with --paste; `paste` answers the authorization URL with what to type in. */
function connectPasting(
  args: string[],
  paste: (authorizeUrl: string) => Promise<string>,
): Promise<CliResult> {
  const child = spawn(process.execPath, [HERALD_BIN, 'connect', 'salesforce', '--paste', ...args], {
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  let pasted = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    const match = /^\s+(https?:\/\/\S+\?\S*response_type=code\S*)$/m.exec(stdout);
    if (match && !pasted && /paste it here:/.test(stdout)) {
      pasted = true;
      void paste(match[1]!).then((line) => child.stdin.write(`${line}\n`));
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('herald connect salesforce', () => {
  let sandbox: Sandbox;
  const user = () => sandbox.users[0]!;

  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());

  async function portWithCallback(): Promise<number> {
    const port = await freePort();
    sandbox.addCallbackUrl(`http://localhost:${port}/OauthRedirect`);
    return port;
  }

  /** The sandbox's app, with its callback on `port`. */
  const app = (port: number) => sandboxAppArgs(sandbox, port);
  /** Connects to it and prints the token. */
  const printing = (port: number) => [...app(port), '--print'];

  it('prints a PKCE authorization URL, exchanges the code and prints the refresh token', async () => {
    const { run, port, authorizeUrl } = await connectToSandbox(sandbox, () => ['--print']);
    const url = new URL(authorizeUrl);
    expect(url.origin + url.pathname).toBe(`${sandbox.url}/services/oauth2/authorize`);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe(sandbox.connectedApp.clientId);
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')!.length).toBeGreaterThanOrEqual(16);
    expect(url.searchParams.get('redirect_uri')).toBe(`http://localhost:${port}/OauthRedirect`);
    expect(url.searchParams.get('scope')!.split(' ')).toContain('refresh_token');

    const location = await driveSandboxLogin(url.toString(), { ...user(), decision: 'allow' });
    expect(location).toMatch(new RegExp(`^http://localhost:${port}/OauthRedirect\\?code=`));
    const page = await fetch(location);
    expect(page.status).toBe(200);
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    const token = /Refresh token: (\S+)/.exec(result.stdout)?.[1];
    expect(token).toBeDefined();
    expect(sandbox.stats.isGrantAlive(token!)).toBe(true);
    expect(result.stdout).toMatch(/at most 5 approvals/);
  });

  it('exits non-zero saying access was denied when the user denies', async () => {
    const { run, authorizeUrl } = await connectToSandbox(sandbox, () => ['--print']);
    const location = await driveSandboxLogin(authorizeUrl, { ...user(), decision: 'deny' });
    expect(location).toContain('error=access_denied');
    await fetch(location);
    const result = await run.done;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Access was denied/);
  });

  it("refuses a redirect that does not carry this attempt's state", async () => {
    const { run, port } = await connectToSandbox(sandbox, () => ['--print']);
    await fetch(`http://localhost:${port}/OauthRedirect?code=forged&state=not-the-state`);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/wrong state/);
  });

  it('names the missing scope when the org issues no refresh token', async () => {
    const { run, authorizeUrl } = await connectToSandbox(sandbox, () => [
      '--print',
      '--scope',
      'api',
    ]);
    const location = await driveSandboxLogin(authorizeUrl, { ...user(), decision: 'allow' });
    await fetch(location);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no refresh token/);
    expect(result.stderr).toMatch(/refresh_token/);
  });

  it('times out with a clear message when the callback URL is not registered (the org shows an error, no redirect)', async () => {
    // Not registered with the sandbox.
    const { run, authorizeUrl } = await startConnectOnFreePort((port) => [
      ...printing(port),
      '--timeout',
      '2s',
    ]);
    const page = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect(await page.text()).toMatch(/redirect_uri_mismatch/);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Nobody completed the login within 2 s/);
  });

  describe('--endpoint', () => {
    let herald: TestHerald;
    beforeAll(async () => {
      herald = await startTestHerald();
    });
    afterAll(() => herald.close());

    /** An OAuth endpoint of the sandbox's connected app; `fields` complete its key. */
    const sandboxEndpoint = (events: string[], fields: Record<string, string>) =>
      herald.api('POST', '/v1/endpoints', {
        url: `${sandbox.url}/services/apexrest/connect-test`,
        events,
        auth: {
          type: 'OAUTH2',
          salesforceKey: Buffer.from(
            JSON.stringify({
              host: sandbox.url,
              client_id: sandbox.connectedApp.clientId,
              ...fields,
            }),
          ).toString('base64'),
        },
      });

    it('stores the refresh token into the endpoint, and its held deliveries resume', async () => {
      const ep = await sandboxEndpoint(['PACKAGE_COMPLETE'], {
        refresh_token: 'revoked-or-unknown',
      });
      await herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'connect-1' });
      await eventually(async () =>
        (await herald.api('GET', `/v1/endpoints/${ep.body.id}`)).body.auth.status ===
        'reauthorization_required'
          ? true
          : undefined,
      );
      const before = sandbox.received.length;
      const { run, authorizeUrl } = await connectToSandbox(
        sandbox,
        () => ['--endpoint', ep.body.id],
        {
          HERALD_URL: herald.url,
          HERALD_API_KEY: TEST_API_KEY,
        },
      );
      const location = await driveSandboxLogin(authorizeUrl, { ...user(), decision: 'allow' });
      await fetch(location);
      const result = await run.done;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Stored the refresh token in endpoint/);
      expect(result.stdout).not.toMatch(/Refresh token:/);
      await eventually(() => (sandbox.received.length === before + 1 ? true : undefined));
      await eventually(async () =>
        (await herald.api('GET', `/v1/endpoints/${ep.body.id}`)).body.auth.status === 'ok'
          ? true
          : undefined,
      );
    });

    it('asks for --client-secret again before anyone logs in, when the login host moves', async () => {
      const ep = await sandboxEndpoint([], {
        refresh_token: 'some-refresh-token',
        client_secret: sandbox.connectedApp.clientSecret,
      });
      expect(ep.status, ep.text).toBe(201);
      // The same org under another name: another origin, where the stored secret may not go.
      const other = new URL(sandbox.url);
      other.hostname = other.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
      const elsewhere = other.origin;
      const run = connect(
        [
          '--client-id',
          sandbox.connectedApp.clientId,
          '--login-url',
          elsewhere,
          '--port',
          String(await portWithCallback()),
          '--endpoint',
          ep.body.id,
        ],
        { HERALD_URL: herald.url, HERALD_API_KEY: TEST_API_KEY },
      );
      const result = await run.done;
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/--client-secret/);
      expect(result.stderr).toContain(new URL(sandbox.url).origin);
      expect(result.stdout).not.toMatch(/response_type=code/);
    });
  });

  describe('--paste (a remote machine: nothing listens on the callback port)', () => {
    it('exchanges the code from the pasted address, with nothing listening on the port', async () => {
      const port = await portWithCallback();
      const result = await connectPasting(printing(port), async (authorizeUrl) => {
        const location = await driveSandboxLogin(authorizeUrl, {
          ...sandbox.users[0]!,
          decision: 'allow',
        });
        // What the user's browser meets: no listener here.
        await expect(fetch(location)).rejects.toThrow();
        // Pasted as the address bar shows it, without the scheme.
        return `  ${location.replace(/^http:\/\//, '')}  `;
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(
        /Copy that whole address from the address bar and paste it here:/,
      );
      expect(result.stdout).not.toMatch(/Waiting for the redirect/);
      const token = /Refresh token: (\S+)/.exec(result.stdout)?.[1];
      expect(token).toBeDefined();
      expect(sandbox.stats.isGrantAlive(token!)).toBe(true);
    });

    it('refuses a pasted address from another login attempt (wrong state), exchanging nothing', async () => {
      const port = await portWithCallback();
      const before = sandbox.stats.tokenRequests;
      const result = await connectPasting(printing(port), async (authorizeUrl) => {
        const location = new URL(
          await driveSandboxLogin(authorizeUrl, { ...sandbox.users[0]!, decision: 'allow' }),
        );
        location.searchParams.set('state', 'another-attempt');
        return location.toString();
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/wrong state/);
      expect(sandbox.stats.tokenRequests).toBe(before);
    });

    it('says what to paste when the text is not the redirect', async () => {
      const port = await portWithCallback();
      const result = await connectPasting(
        printing(port),
        async () => 'https://example.com/somewhere',
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(`should start with http://localhost:${port}/OauthRedirect\\?code=`),
      );
      const denied = await connectPasting(
        printing(await portWithCallback()),
        async (authorizeUrl) =>
          driveSandboxLogin(authorizeUrl, { ...sandbox.users[0]!, decision: 'deny' }),
      );
      expect(denied.code).toBe(1);
      expect(denied.stderr).toMatch(/Access was denied/);
    });
  });
});
