// /services/oauth2/revoke. Revoking a refresh token ends its grant and every access token of it;
// revoking an access token ends only that session. Unlike RFC 7009 (which answers 200 for
// anything), Salesforce answers 400 `invalid_token` for a token it does not know or has already
// revoked; clients should treat that as "already gone". GET with ?token= works too, as it does on
// Salesforce.

import { Hono, type Context } from 'hono';
import { readForm, sendOAuthError, oauthError } from './http.js';
import type { SandboxState } from './state.js';

export function revokeRoutes(state: SandboxState): Hono {
  const routes = new Hono();

  const revoke = (c: Context, token: string | undefined): Response => {
    if (!token) return sendOAuthError(c, oauthError('invalid_request', 'token is required'));
    const refresh = state.findRefreshToken(token);
    if (refresh?.grant.alive) {
      state.revokeGrant(refresh.grant);
      return c.body(null, 200);
    }
    const access = state.liveAccessToken(token);
    if (access) {
      state.revokeAccessToken(access);
      return c.body(null, 200);
    }
    return sendOAuthError(c, oauthError('invalid_token', 'invalid token'));
  };

  routes.post('/services/oauth2/revoke', async (c) => {
    const form = await readForm(c);
    return revoke(c, form.get('token') ?? c.req.query('token'));
  });
  routes.get('/services/oauth2/revoke', (c) => revoke(c, c.req.query('token')));

  return routes;
}
