// The Web Server flow's browser side: /services/oauth2/authorize, then login, then consent.
//
// Errors that make the redirect untrustworthy (unknown client, unregistered redirect_uri) are
// shown as a page and never redirected, as the RFC and Salesforce require: otherwise anyone
// could bounce users to arbitrary URLs. Every later error goes back to the client's callback.
// There is no session cookie, so every authorization asks for login and consent: `prompt=login`
// and `prompt=consent` hold trivially, and `prompt=none` can only fail with login_required.

import { Hono, type Context } from 'hono';
import { readForm } from './http.js';
import { ConsentPage, ErrorPage, LoginPage } from './pages.js';
import type { SandboxState } from './state.js';

const CHALLENGE_RE = /^[A-Za-z0-9_-]{43}$/;
const APP_NAME = 'Herald';
const BAD_LOGIN =
  "Please check your username and password. If you still can't log in, contact your Salesforce administrator.";

/** The callback URL with OAuth parameters appended (it may already carry a query). */
function callback(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value);
  }
  return url.toString();
}

function errorPage(c: Context, error: string, description: string) {
  return c.html(<ErrorPage error={error} description={description} />, 400);
}

export function authorizeRoutes(state: SandboxState): Hono {
  const routes = new Hono();
  const expired = (c: Context) =>
    errorPage(c, 'invalid_request', 'this authorization request is unknown or has expired');

  routes.get('/services/oauth2/authorize', (c) => {
    const q = c.req.query();
    if (q.client_id !== state.app.clientId) {
      return errorPage(c, 'invalid_client_id', 'client identifier invalid');
    }
    const redirectUri = q.redirect_uri ?? '';
    if (!state.app.callbackUrls.includes(redirectUri)) {
      return errorPage(c, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
    }
    const back = (error: string, description: string) =>
      c.redirect(
        callback(redirectUri, { error, error_description: description, state: q.state }),
        302,
      );

    if (q.response_type !== 'code') {
      return back('unsupported_response_type', 'response type not supported');
    }
    const challenge = q.code_challenge;
    if (challenge === undefined || challenge === '') {
      if (state.app.requirePkce) return back('invalid_request', 'missing required code challenge');
    } else if (!CHALLENGE_RE.test(challenge)) {
      return back('invalid_request', 'invalid code challenge');
    }
    // Salesforce assumes SHA-256; `plain` would defeat PKCE, so it is refused outright.
    if (q.code_challenge_method !== undefined && q.code_challenge_method !== 'S256') {
      return back('invalid_request', 'unsupported code challenge method');
    }
    if ((q.prompt ?? '').split(/\s+/).includes('none')) {
      return back('login_required', 'user must log in');
    }
    const requested = (q.scope ?? '').split(/\s+/).filter(Boolean);
    if (requested.some((s) => !state.app.scopes.includes(s))) {
      return back('invalid_scope', 'the requested scope is not allowed');
    }

    const pending = state.authorizations.begin({
      redirectUri,
      // No scope asked for means every scope the app was given, as on Salesforce.
      scopes: requested.length > 0 ? [...new Set(requested)] : [...state.app.scopes],
      state: q.state,
      codeChallenge: challenge || undefined,
      nonce: q.nonce,
      loginHint: q.login_hint,
    });
    return c.html(<LoginPage pendingId={pending.id} username={pending.loginHint} />);
  });

  routes.post('/services/oauth2/authorize/login', async (c) => {
    const form = await readForm(c);
    const pending = state.authorizations.findPending(form.get('pending') ?? '');
    if (!pending) return expired(c);
    const username = form.get('username') ?? '';
    const user = state.findUser(username);
    if (!user || user.password !== (form.get('password') ?? '')) {
      return c.html(<LoginPage pendingId={pending.id} username={username} error={BAD_LOGIN} />);
    }
    pending.user = user;
    return c.html(
      <ConsentPage
        pendingId={pending.id}
        username={user.username}
        appName={APP_NAME}
        scopes={pending.scopes}
      />,
    );
  });

  routes.post('/services/oauth2/authorize/consent', async (c) => {
    const form = await readForm(c);
    const pending = state.authorizations.findPending(form.get('pending') ?? '');
    if (!pending?.user) return expired(c);
    const decision = form.get('decision');
    if (decision !== 'allow' && decision !== 'deny') {
      return errorPage(c, 'invalid_request', 'choose Allow or Deny');
    }
    state.authorizations.finish(pending.id);
    if (decision === 'deny') {
      const url = callback(pending.redirectUri, {
        error: 'access_denied',
        error_description: 'end-user denied authorization',
        state: pending.state,
      });
      return c.redirect(url, 302);
    }
    const grant = state.approve(pending.user, pending.scopes, 'web_server');
    const code = state.authorizations.issueCode(grant, pending);
    return c.redirect(callback(pending.redirectUri, { code, state: pending.state }), 302);
  });

  return routes;
}
