// `herald connect salesforce`: obtain a refresh token through the Web Server flow with PKCE, and
// store it into an endpoint (held deliveries resume) or print it.

import {
  beginAuthorization,
  completeAuthorization,
  DEFAULT_LOGIN_URL,
  DEFAULT_SCOPE,
  WebFlowError,
  type WebFlowOptions,
} from '../../oauth/web-flow.js';
import { createInterface } from 'node:readline';
import { originOf } from '../../domain/endpoint.js';
import { parseDuration } from '../../domain/retry.js';
import { apiClient, CLIENT_HELP, CLIENT_OPTIONS } from '../api-client.js';
import { parse, UsageError, type Command } from '../command.js';
import { listenForRedirect, openBrowser, REDIRECT_PATH } from '../redirect-listener.js';

export const connectSalesforce: Command = {
  name: 'connect salesforce',
  summary: 'Get a Salesforce refresh token (Web Server flow with PKCE) and store or print it',
  help: `Usage: herald connect salesforce --client-id ID (--endpoint EP_ID | --print) [options]

Opens Salesforce's login page, receives the redirect on http://localhost:<port>${REDIRECT_PATH},
checks the state, exchanges the code with PKCE, and stores the refresh token into an endpoint
(its held deliveries resume) or prints it.

On a remote machine (over SSH), the browser runs on your own machine, so the redirect to
localhost goes there. Either forward the port, and everything works as on your machine:
  ssh -L 1717:localhost:1717 you@server        then run the command on the server
or use --paste: after you allow access, your browser fails to load the localhost address; copy
that whole address from its address bar and paste it into the terminal. The state is checked and
the code exchanged as with the listener.

Options:
  --client-id ID        the app's Consumer Key (required)
  --client-secret S     the Consumer Secret, if the app requires it for the Web Server flow
                        (again when --login-url moves an endpoint that stores one to another host)
  --login-url URL       https://login.salesforce.com (default), https://test.salesforce.com, or a My Domain
  --scope "S"           default "${DEFAULT_SCOPE}" (must include refresh_token)
  --port P              local port of the callback (default 1717); register
                        http://localhost:P${REDIRECT_PATH} in the app exactly
  --endpoint EP_ID      store the refresh token into this Herald endpoint
  --print               print the refresh token instead
  --no-browser          do not open a browser; open the printed URL yourself
  --paste               no local listener: paste the address the browser was sent to
                        (for a remote machine; implies --no-browser)
  --timeout D           how long to wait for the login (default 5m)
  --prompt P            e.g. login or consent
  --login-hint U        pre-fill the username
  --authorize-url URL   authorization endpoint, for servers that are not Salesforce
  --token-url URL       token endpoint, for servers that are not Salesforce
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CLIENT_OPTIONS,
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'login-url': { type: 'string' },
      scope: { type: 'string' },
      port: { type: 'string' },
      endpoint: { type: 'string' },
      print: { type: 'boolean' },
      'no-browser': { type: 'boolean' },
      paste: { type: 'boolean' },
      timeout: { type: 'string' },
      prompt: { type: 'string' },
      'login-hint': { type: 'string' },
      'authorize-url': { type: 'string' },
      'token-url': { type: 'string' },
    });
    const clientId = values['client-id'];
    if (!clientId)
      throw new UsageError('--client-id is required (the Consumer Key of the connected app)');
    if (!values.endpoint && !values.print)
      throw new UsageError('Say where the token goes: --endpoint EP_ID or --print');
    if (values.endpoint && values.print)
      throw new UsageError('Use --endpoint or --print, not both');
    const port = Number(values.port ?? '1717');
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new UsageError('--port must be a TCP port');
    const timeoutMs = values.timeout ? parseDuration(values.timeout) : 5 * 60_000;
    if (timeoutMs === undefined)
      throw new UsageError('--timeout must be a duration such as 90s or 5m');
    const loginUrl = (values['login-url'] ?? DEFAULT_LOGIN_URL).replace(/\/+$/, '');
    // Checked before anyone is sent to log in: a bad URL would only fail after the login.
    for (const flag of ['login-url', 'authorize-url', 'token-url'] as const) {
      const value = flag === 'login-url' ? loginUrl : values[flag];
      if (value !== undefined && !isHttpUrl(value))
        throw new UsageError(`--${flag} ${JSON.stringify(value)} is not an http(s) URL`);
    }
    const scope = values.scope ?? DEFAULT_SCOPE;
    const options: WebFlowOptions = {
      loginUrl,
      clientId,
      clientSecret: values['client-secret'],
      scope,
      redirectUri: `http://localhost:${port}${REDIRECT_PATH}`,
      prompt: values.prompt,
      loginHint: values['login-hint'],
      authorizeUrl: values['authorize-url'],
      tokenUrl: values['token-url'],
    };
    const api = values.endpoint ? apiClient(values, io) : null;
    if (api) {
      // Fails early: an unknown endpoint, or one that does not use OAuth 2.0.
      const endpoint = (await api.request(
        'GET',
        `/v1/endpoints/${encodeURIComponent(values.endpoint!)}`,
      )) as { auth?: { type?: string; tokenUrl?: string; clientSecret?: string | null } };
      if (endpoint.auth?.type !== 'OAUTH2')
        throw new UsageError(
          `Endpoint ${values.endpoint} does not use OAuth 2.0 (its auth is ${endpoint.auth?.type ?? 'unknown'}); set its auth to OAUTH2 first`,
        );
      // A stored client secret goes only to the host it was given for: Herald would refuse the
      // new key after the login (secret_required), and the refresh token would be lost.
      const { tokenUrl, clientSecret } = endpoint.auth;
      const storedFor = tokenUrl === undefined ? undefined : originOf(tokenUrl);
      if (
        options.tokenUrl === undefined &&
        clientSecret &&
        !options.clientSecret &&
        storedFor !== originOf(loginUrl)
      )
        throw new UsageError(
          `Endpoint ${values.endpoint} has a client secret for ${storedFor}, and Herald sends it nowhere else: to connect it to ${originOf(loginUrl)}, pass --client-secret again`,
        );
    }

    const redirectUri = options.redirectUri;
    const listener = values.paste ? null : await listenForRedirect(port);
    try {
      const pending = await beginAuthorization(options);
      io.out('Open this URL to log in to Salesforce and allow access:');
      io.out('');
      io.out(`  ${pending.url}`);
      io.out('');
      if (!/(^|\s)(refresh_token|offline_access)(\s|$)/.test(scope)) {
        io.err(
          'Warning: the scope does not ask for refresh_token; Salesforce will not issue a refresh token.',
        );
      }
      io.out(
        'Note: each Salesforce user keeps at most 5 approvals per app; a 6th revokes the oldest refresh token.',
      );
      let redirect: URL;
      if (listener) {
        io.out(`Waiting for the redirect to ${redirectUri} …`);
        if (!values['no-browser']) openBrowser(pending.url);
        redirect = await listener.next(timeoutMs);
      } else {
        io.out(
          `After you allow access, the browser goes to ${redirectUri}?code=… and cannot load it (nothing listens there).`,
        );
        io.out('Copy that whole address from the address bar and paste it here:');
        redirect = pastedRedirect(await readLine(timeoutMs), redirectUri);
      }
      const result = await completeAuthorization(options, pending, redirect);
      io.out(
        `Connected${result.instanceUrl ? ` to ${result.instanceUrl}` : ''}${result.scope ? ` (scope: ${result.scope})` : ''}.`,
      );
      if (api) {
        const credentials =
          options.tokenUrl === undefined
            ? {
                salesforceKey: Buffer.from(
                  JSON.stringify({
                    host: loginUrl,
                    client_id: clientId,
                    refresh_token: result.refreshToken,
                    ...(options.clientSecret ? { client_secret: options.clientSecret } : {}),
                  }),
                ).toString('base64'),
              }
            : { refreshToken: result.refreshToken };
        const endpoint = (await api.request(
          'PUT',
          `/v1/endpoints/${encodeURIComponent(values.endpoint!)}/credentials`,
          credentials,
        )) as {
          id: string;
          auth: { status: string };
        };
        io.out(
          `Stored the refresh token in endpoint ${endpoint.id} (auth status: ${endpoint.auth.status}); its held deliveries resume.`,
        );
      } else {
        io.out(`Refresh token: ${result.refreshToken}`);
      }
      return 0;
    } catch (error) {
      if (error instanceof WebFlowError || error instanceof Error) {
        io.err(error.message);
        return 1;
      }
      throw error;
    } finally {
      await listener?.close();
    }
  },
};

/** One line from stdin, or a clear error when none comes in time (or stdin ends). */
function readLine(timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: process.stdin, terminal: false });
    const timer = setTimeout(() => {
      lines.close();
      reject(
        new Error(
          `Nothing was pasted within ${Math.round(timeoutMs / 1000)} s. Run the command again (or raise --timeout).`,
        ),
      );
    }, timeoutMs);
    let answered = false;
    lines.once('line', (line) => {
      answered = true;
      clearTimeout(timer);
      lines.close();
      resolve(line);
    });
    lines.once('close', () => {
      clearTimeout(timer);
      if (!answered)
        reject(new Error('Nothing was pasted (the input ended). Run the command again.'));
    });
    // One line is all it reads: an open stdin would keep the process alive after the answer.
  }).finally(() => process.stdin.destroy());
}

/**
 * The redirect the user pasted: the address the browser was sent to. Browsers hide the scheme in
 * the address bar, so one without it is read as http://. The state is checked afterwards, with
 * the code exchange.
 */
export function pastedRedirect(text: string, redirectUri: string): URL {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(/^https?:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`);
  } catch {
    throw new Error(
      `That is not an address. Paste the whole address that starts with ${redirectUri}?code=`,
    );
  }
  const expected = new URL(redirectUri);
  if (url.host !== expected.host || url.pathname !== expected.pathname) {
    throw new Error(
      `That is not the redirect: it should start with ${redirectUri}?code= (the page the browser could not load after you allowed access)`,
    );
  }
  return url;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
