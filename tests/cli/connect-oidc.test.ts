// `herald connect` against a certified authorization server (oidc-provider): the same Web
// Server flow with PKCE, state and the code exchange, through its own login and consent
// interactions (answered by the test: there is no UI).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { freePort } from '../helpers/ports.js';
import { startConnectOnFreePort, type ConnectRun } from '../helpers/process.js';

// The provider needs its redirect URIs when it starts: ports from the system, for the file. A port
// free a moment ago can be taken by another test file's socket before the command listens on it,
// so three are registered and a command that finds its port taken is started on the next.
const PORTS = [...new Set([await freePort(), await freePort(), await freePort()])];
const redirectOf = (port: number) => `http://localhost:${port}/OauthRedirect`;

/** Follows the provider's redirects (with its cookies) until it sends the browser to `target`. */
async function browse(start: string, target: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = start;
  for (let hops = 0; hops < 20; hops++) {
    if (url.startsWith(target)) return url;
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const location = response.headers.get('location');
    if (!location)
      throw new Error(
        `no redirect from ${url} (HTTP ${response.status}): ${await response.text()}`,
      );
    url = new URL(location, url).toString();
  }
  throw new Error('too many redirects');
}

describe('herald connect against oidc-provider', () => {
  let op: TestOidcProvider;
  let answer: 'approve' | 'deny' = 'approve';

  beforeAll(async () => {
    op = await startOidcProvider({
      redirectUris: PORTS.map(redirectOf),
      interaction: () => answer,
      alignIssuanceToSeconds: false,
    });
  });
  afterAll(() => op.close());

  const args = (port: number) => [
    '--client-id',
    op.clients.post.clientId,
    '--client-secret',
    op.clients.post.clientSecret,
    '--login-url',
    op.issuer,
    '--authorize-url',
    `${op.issuer}/auth`,
    '--token-url',
    op.tokenUrl,
    '--scope',
    'openid offline_access api',
    '--prompt',
    'consent',
    '--port',
    String(port),
    '--print',
  ];

  /** `herald connect` listening on the first registered port that is free, and its redirect URI. */
  async function connect(): Promise<{ run: ConnectRun; authorizeUrl: string; redirect: string }> {
    const { run, port, authorizeUrl } = await startConnectOnFreePort(args, { ports: PORTS });
    return { run, authorizeUrl, redirect: redirectOf(port) };
  }

  it('obtains a refresh token through login and consent, with PKCE and the client secret', async () => {
    answer = 'approve';
    const { run, authorizeUrl, redirect } = await connect();
    const authorize = new URL(authorizeUrl);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const back = await browse(authorize.toString(), redirect);
    expect(new URL(back).searchParams.get('code')).toBeTruthy();
    expect((await fetch(back)).status).toBe(200);
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    const token = /Refresh token: (\S+)/.exec(result.stdout)?.[1];
    expect(token).toBeDefined();
    expect(await op.refreshTokenState(token!)).toBe('active');
    expect(op.stats.byGrant().authorization_code).toBe(1);
    expect(op.stats.byAuthMethod().client_secret_post).toBeGreaterThanOrEqual(1);
  });

  it('reports a denial at the provider as access denied', async () => {
    answer = 'deny';
    const { run, authorizeUrl, redirect } = await connect();
    const back = await browse(authorizeUrl, redirect);
    expect(back).toContain('error=access_denied');
    await fetch(back);
    const result = await run.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Access was denied/);
  });
});
