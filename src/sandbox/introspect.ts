// POST /services/oauth2/introspect (RFC 7662 as Salesforce answers it). The only documented way
// to learn an opaque access token's expiry; the client must authenticate with its secret.
// Anything not alive, including a rotated-out refresh token, is just `{"active":false}`:
// introspection never triggers replay detection.

import { Hono } from 'hono';
import { checkClient, readClientAuth } from './client-auth.js';
import { readForm, sendOAuthError } from './http.js';
import type { Grant, SandboxState } from './state.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

export function introspectRoutes(state: SandboxState): Hono {
  const routes = new Hono();

  routes.post('/services/oauth2/introspect', async (c) => {
    const form = await readForm(c);
    const clientError = checkClient(
      state.app,
      readClientAuth(c.req.header('authorization'), form),
      true,
    );
    if (clientError) return sendOAuthError(c, clientError, 401);

    const token = form.get('token') ?? '';
    const describe = (grant: Grant) => ({
      active: true,
      scope: grant.scopes.join(' '),
      client_id: state.app.clientId,
      username: grant.user.username,
      sub: state.identityUrl(grant.user),
    });

    const access = state.liveAccessToken(token);
    if (access) {
      return c.json({
        ...describe(access.grant),
        token_type: 'access_token',
        exp: seconds(state.accessTokenExpiresAt(access)),
        iat: seconds(access.issuedAt),
        nbf: seconds(access.issuedAt),
      });
    }
    const refresh = state.findRefreshToken(token);
    if (refresh && !refresh.rotatedOut && refresh.grant.alive) {
      // Refresh tokens here are valid until revoked, so there is no `exp` to report.
      return c.json({ ...describe(refresh.grant), token_type: 'refresh_token' });
    }
    return c.json({ active: false });
  });

  return routes;
}
