// The three grants the token endpoint serves, each split in two:
//   prepare  — runs synchronously when the request arrives: authenticates the client, checks the
//              grant and, for a refresh, claims the refresh token as "being processed";
//   complete — runs after the artificial processing time and mints the tokens, re-checking the
//              grant, which may have been revoked meanwhile (e.g. by a concurrent replay).
// Claiming synchronously, before any await, is what makes the concurrency check real: a second
// request with the same refresh token that arrives during the processing time sees the claim.

import { checkClient, type ClientAuth } from './client-auth.js';
import { oauthError, type OAuthError } from './http.js';
import { hasRefreshScope, type SandboxState } from './state.js';
import { tokenResponse, type TokenResponseBody } from './token-response.js';
import { s256 } from './tokens.js';

export type Outcome = { ok: false; error: OAuthError } | { ok: true; body: TokenResponseBody };
export type Prepared =
  { ok: false; error: OAuthError } | { ok: true; complete: () => Outcome; release: () => void };

const fail = (error: OAuthError): { ok: false; error: OAuthError } => ({ ok: false, error });
const nothingToRelease = () => undefined;

const EXPIRED_TOKEN = oauthError('invalid_grant', 'expired access/refresh token');
const ALREADY_PROCESSING = oauthError('invalid_grant', 'token request is already being processed');
const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/;

export function prepareRefresh(
  state: SandboxState,
  form: URLSearchParams,
  client: ClientAuth,
): Prepared {
  const clientError = checkClient(state.app, client, state.app.requireSecretForRefresh);
  if (clientError) return fail(clientError);
  const token = form.get('refresh_token');
  if (!token) return fail(oauthError('invalid_request', 'refresh_token is required'));

  const found = state.findRefreshToken(token);
  if (!found) return fail(EXPIRED_TOKEN);
  const { grant } = found;
  if (found.rotatedOut) {
    // Replay detection (RFC 9700 §4.14.2): the whole grant dies, current token included.
    state.counters.rotatedOutTokenPresented++;
    state.revokeGrant(grant);
    return fail(EXPIRED_TOKEN);
  }
  if (!grant.alive) return fail(EXPIRED_TOKEN);
  if (state.refreshInProgress.has(token)) {
    state.counters.concurrentRefreshRejections++;
    if (state.tunables.concurrentRefresh === 'revoke') state.revokeGrant(grant);
    return fail(ALREADY_PROCESSING);
  }

  state.refreshInProgress.add(token);
  return {
    ok: true,
    release: () => state.refreshInProgress.delete(token),
    complete: () => {
      if (!grant.alive || grant.refreshToken !== token) return fail(EXPIRED_TOKEN);
      const access = state.issueAccessToken(grant);
      // Without rotation the response has no refresh_token: the client keeps the one it has.
      const refreshToken = state.tunables.rotation ? state.rotateRefreshToken(grant) : undefined;
      return { ok: true, body: tokenResponse(state, access, { refreshToken }) };
    },
  };
}

export function prepareAuthorizationCode(
  state: SandboxState,
  form: URLSearchParams,
  client: ClientAuth,
): Prepared {
  const clientError = checkClient(state.app, client, state.app.requireSecretForWebServerFlow);
  if (clientError) return fail(clientError);
  const codeValue = form.get('code');
  const code = codeValue ? state.authorizations.findCode(codeValue) : undefined;
  if (!code) return fail(oauthError('invalid_grant', 'authentication failure'));
  // Once the client is authenticated, any attempt uses the code up, failed or not: a code is a
  // one-time credential, and a wrong verifier must not leave it open to guessing.
  if (code.used || state.authorizations.isExpired(code)) {
    return fail(oauthError('invalid_grant', 'expired authorization code'));
  }
  code.used = true;
  if (form.get('redirect_uri') !== code.redirectUri) {
    return fail(oauthError('redirect_uri_mismatch', 'redirect_uri must match configuration'));
  }
  if (code.codeChallenge !== undefined) {
    const verifier = form.get('code_verifier') ?? '';
    if (!VERIFIER_RE.test(verifier) || s256(verifier) !== code.codeChallenge) {
      return fail(oauthError('invalid_grant', 'invalid code verifier'));
    }
  }
  const { grant, nonce } = code;
  return {
    ok: true,
    release: nothingToRelease,
    complete: () => {
      // The grant may have been evicted by later approvals before the code was exchanged.
      if (!grant.alive) return fail(EXPIRED_TOKEN);
      const access = state.issueAccessToken(grant);
      const refreshToken = hasRefreshScope(grant.scopes) ? grant.refreshToken : undefined;
      return { ok: true, body: tokenResponse(state, access, { refreshToken, nonce }) };
    },
  };
}

export function prepareClientCredentials(state: SandboxState, client: ClientAuth): Prepared {
  // Client credentials is for confidential clients only: the secret is always required.
  const clientError = checkClient(state.app, client, true);
  if (clientError) return fail(clientError);
  const runAs = state.tunables.clientCredentialsUser;
  if (!runAs) return fail(oauthError('invalid_grant', 'no client credentials user enabled'));
  return {
    ok: true,
    release: nothingToRelease,
    complete: () => {
      // No refresh token and no openid here: the app's API scopes only.
      const scopes = state.app.scopes.filter((s) => s === 'api' || s === 'id');
      const access = state.issueAccessToken(state.clientCredentialsGrant(runAs, scopes));
      return { ok: true, body: tokenResponse(state, access) };
    },
  };
}
