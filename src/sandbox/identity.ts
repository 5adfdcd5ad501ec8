// The identity side of the org: /services/oauth2/userinfo, the identity URL returned as `id`,
// the JWKS for id_tokens and an OpenID discovery document. Salesforce's identity service rejects
// a bad token with 403 and the plain text `Bad_OAuth_Token`, unlike the data APIs' JSON 401.

import { Hono, type Context } from 'hono';
import { bearerToken } from './http.js';
import type { AccessTokenRecord, SandboxState } from './state.js';

export function identityRoutes(state: SandboxState): Hono {
  const routes = new Hono();

  const session = (c: Context): AccessTokenRecord | undefined => {
    const token = bearerToken(c) ?? c.req.query('oauth_token');
    const record = token ? state.liveAccessToken(token) : undefined;
    if (record) state.touch(record);
    return record;
  };
  const badToken = (c: Context) => c.text('Bad_OAuth_Token', 403);

  const restUrls = () => ({
    rest: `${state.baseUrl}/services/data/v62.0/`,
    custom_domain: state.baseUrl,
  });

  routes.get('/services/oauth2/userinfo', (c) => {
    const record = session(c);
    if (!record) return badToken(c);
    const { user } = record.grant;
    return c.json({
      sub: state.identityUrl(user),
      user_id: user.userId,
      organization_id: state.orgId,
      preferred_username: user.username,
      nickname: user.username.split('@')[0],
      name: user.displayName,
      email: user.email,
      email_verified: true,
      active: true,
      user_type: 'STANDARD',
      urls: restUrls(),
    });
  });

  routes.get('/id/:orgId/:userId', (c) => {
    const record = session(c);
    if (!record) return badToken(c);
    const { user } = record.grant;
    // A token may read its own identity only: the sandbox has no sharing rules to consult.
    if (c.req.param('orgId') !== state.orgId || c.req.param('userId') !== user.userId) {
      return badToken(c);
    }
    return c.json({
      id: state.identityUrl(user),
      asserted_user: true,
      user_id: user.userId,
      organization_id: state.orgId,
      username: user.username,
      nick_name: user.username.split('@')[0],
      display_name: user.displayName,
      email: user.email,
      active: true,
      user_type: 'STANDARD',
      urls: restUrls(),
    });
  });

  routes.get('/id/keys', (c) => c.json(state.idTokens.jwks()));

  routes.get('/.well-known/openid-configuration', (c) => {
    const base = state.baseUrl;
    return c.json({
      issuer: base,
      authorization_endpoint: `${base}/services/oauth2/authorize`,
      token_endpoint: `${base}/services/oauth2/token`,
      revocation_endpoint: `${base}/services/oauth2/revoke`,
      introspection_endpoint: `${base}/services/oauth2/introspect`,
      userinfo_endpoint: `${base}/services/oauth2/userinfo`,
      jwks_uri: `${base}/id/keys`,
      scopes_supported: state.app.scopes,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'none'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  return routes;
}
