// The OAuth 2.0 Web Server flow (authorization code with PKCE) that obtains a Salesforce refresh
// token: build the authorization URL, then validate the redirect and exchange the code.
// Every failure becomes a WebFlowError that says in plain words what to fix.

import * as oauth from 'oauth4webapi';

export interface WebFlowOptions {
  /** Salesforce login host, e.g. https://login.salesforce.com, https://test.salesforce.com or a My Domain. */
  readonly loginUrl: string;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly scope: string;
  readonly redirectUri: string;
  readonly prompt?: string | undefined;
  readonly loginHint?: string | undefined;
  /** Overrides for servers that are not Salesforce (default `{login}/services/oauth2/...`). */
  readonly authorizeUrl?: string | undefined;
  readonly tokenUrl?: string | undefined;
}

export interface PendingAuthorization {
  readonly url: string;
  readonly state: string;
  readonly codeVerifier: string;
}

export interface WebFlowResult {
  readonly refreshToken: string;
  readonly accessToken: string;
  readonly instanceUrl: string | undefined;
  readonly identityUrl: string | undefined;
  readonly scope: string | undefined;
}

export type WebFlowErrorCode =
  | 'access_denied'
  | 'state_mismatch'
  | 'authorization_error'
  | 'token_error'
  | 'no_refresh_token'
  | 'unreachable';

export class WebFlowError extends Error {
  override name = 'WebFlowError';
  constructor(
    readonly code: WebFlowErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_LOGIN_URL = 'https://login.salesforce.com';
export const DEFAULT_SCOPE = 'api refresh_token';

function endpoints(o: WebFlowOptions): { authorize: string; token: string } {
  const base = o.loginUrl.replace(/\/+$/, '');
  return {
    authorize: o.authorizeUrl ?? `${base}/services/oauth2/authorize`,
    token: o.tokenUrl ?? `${base}/services/oauth2/token`,
  };
}

function server(o: WebFlowOptions): oauth.AuthorizationServer {
  const { authorize, token } = endpoints(o);
  return {
    issuer: new URL(o.loginUrl).origin,
    authorization_endpoint: authorize,
    token_endpoint: token,
  };
}

/** Builds the authorization URL with PKCE S256 and a random state (always both). */
export async function beginAuthorization(o: WebFlowOptions): Promise<PendingAuthorization> {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(endpoints(o).authorize);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', o.clientId);
  url.searchParams.set('redirect_uri', o.redirectUri);
  url.searchParams.set('scope', o.scope);
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (o.prompt) url.searchParams.set('prompt', o.prompt);
  if (o.loginHint) url.searchParams.set('login_hint', o.loginHint);
  return { url: url.toString(), state, codeVerifier };
}

/** Salesforce writes `access-denied` in this flow, the RFC `access_denied`: both mean no. */
function isDenied(error: string): boolean {
  return error === 'access_denied' || error === 'access-denied';
}

function explainTokenRefusal(
  o: WebFlowOptions,
  error: string,
  description: string | undefined,
): string {
  const said = description ? `${error}: ${description}` : error;
  if (/redirect_uri/i.test(said)) {
    return `The org refused the callback URL (${said}). Add ${o.redirectUri} exactly to the app's callback URLs.`;
  }
  if (/code.?verifier|pkce/i.test(said)) {
    return `The org refused the PKCE proof (${said}). Run the command again; if it persists, check that the app accepts PKCE (S256).`;
  }
  if (error === 'invalid_client' || /client secret|client credentials/i.test(said)) {
    return o.clientSecret
      ? `The org refused the client id or secret (${said}). Check --client-id (Consumer Key) and --client-secret (Consumer Secret).`
      : `The org wants the client secret for this flow (${said}). Pass --client-secret, or turn off "Require Secret for Web Server Flow" in the app.`;
  }
  if (error === 'invalid_client_id') {
    return `The org does not know this client id (${said}). Check --client-id (the Consumer Key) and --login-url (production, sandbox or My Domain).`;
  }
  if (error === 'invalid_grant') {
    return `The org refused the authorization code (${said}): it expired or was already used. Run the command again and finish the login within a few minutes.`;
  }
  return `The token endpoint refused the code exchange (${said}).`;
}

/**
 * Validates the redirect (state, errors) and exchanges the code with the PKCE verifier (and the
 * secret when given). Requires a refresh token in the answer.
 */
export async function completeAuthorization(
  o: WebFlowOptions,
  pending: PendingAuthorization,
  redirect: URL,
  fetchImpl: typeof fetch = fetch,
): Promise<WebFlowResult> {
  const error = redirect.searchParams.get('error');
  if (error && isDenied(error)) {
    throw new WebFlowError(
      'access_denied',
      'Access was denied: the user did not allow the app. Run the command again and choose Allow.',
    );
  }
  if (redirect.searchParams.get('state') !== pending.state) {
    throw new WebFlowError(
      'state_mismatch',
      'The redirect carried the wrong state, so it did not come from this login attempt; nothing was exchanged. Run the command again.',
    );
  }
  if (error) {
    const description = redirect.searchParams.get('error_description') ?? '';
    const hint = /code_challenge|pkce/i.test(`${error} ${description}`)
      ? ' The app may require PKCE settings that this request did not meet.'
      : /scope/i.test(`${error} ${description}`)
        ? ' Check the scopes the app allows (api, refresh_token).'
        : '';
    throw new WebFlowError(
      'authorization_error',
      `The org refused the authorization: ${error}${description ? `: ${description}` : ''}.${hint}`,
    );
  }
  const as = server(o);
  const client: oauth.Client = { client_id: o.clientId };
  const auth = o.clientSecret ? oauth.ClientSecretPost(o.clientSecret) : oauth.None();
  const insecure = as.token_endpoint!.startsWith('http:');
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, redirect, pending.state);
  } catch (e) {
    throw new WebFlowError(
      'authorization_error',
      `The redirect is not a valid authorization response: ${(e as Error).message}`,
    );
  }
  let response: Response;
  try {
    response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      params,
      o.redirectUri,
      pending.codeVerifier,
      {
        [oauth.customFetch]: fetchImpl,
        [oauth.allowInsecureRequests]: insecure,
      },
    );
  } catch (e) {
    const cause =
      e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
    throw new WebFlowError(
      'unreachable',
      `Could not reach the token endpoint ${as.token_endpoint}: ${cause}`,
    );
  }
  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processAuthorizationCodeResponse(as, client, response, {
      requireIdToken: false,
    });
  } catch (e) {
    if (e instanceof oauth.ResponseBodyError) {
      throw new WebFlowError('token_error', explainTokenRefusal(o, e.error, e.error_description));
    }
    throw new WebFlowError(
      'token_error',
      `The token endpoint's answer was not usable: ${(e as Error).message}`,
    );
  }
  if (!result.refresh_token) {
    throw new WebFlowError(
      'no_refresh_token',
      `The org issued an access token but no refresh token. The app must grant the "refresh_token, offline_access" scope (Perform requests at any time) and the request must ask for it (scope was "${o.scope}"); also check the app's refresh token policy.`,
    );
  }
  return {
    refreshToken: result.refresh_token,
    accessToken: result.access_token,
    instanceUrl: typeof result.instance_url === 'string' ? result.instance_url : undefined,
    identityUrl: typeof result.id === 'string' ? result.id : undefined,
    scope: result.scope,
  };
}
