// The body of a successful token response, in Salesforce's field order. Deliberately without
// `expires_in`: Salesforce never sends one, and clients must learn expiry from the listener's 401.

import type { AccessTokenRecord, SandboxState } from './state.js';
import { responseSignature } from './tokens.js';

export interface TokenResponseBody {
  access_token: string;
  refresh_token?: string;
  signature: string;
  scope: string;
  id_token?: string;
  instance_url: string;
  id: string;
  token_type: 'Bearer';
  issued_at: string;
}

export function tokenResponse(
  state: SandboxState,
  access: AccessTokenRecord,
  extras: { refreshToken?: string | undefined; nonce?: string | undefined } = {},
): TokenResponseBody {
  const { grant } = access;
  const id = state.identityUrl(grant.user);
  const issuedAt = String(access.issuedAt);
  const idToken = grant.scopes.includes('openid')
    ? state.idTokens.sign({
        iss: state.baseUrl,
        sub: id,
        aud: state.app.clientId,
        iatMs: access.issuedAt,
        accessToken: access.token,
        nonce: extras.nonce,
        extra: {
          preferred_username: grant.user.username,
          name: grant.user.displayName,
          email: grant.user.email,
          user_id: grant.user.userId,
          organization_id: state.orgId,
        },
      })
    : undefined;
  return {
    access_token: access.token,
    ...(extras.refreshToken === undefined ? {} : { refresh_token: extras.refreshToken }),
    signature: responseSignature(state.app.clientSecret, id, issuedAt),
    scope: grant.scopes.join(' '),
    ...(idToken === undefined ? {} : { id_token: idToken }),
    instance_url: state.baseUrl,
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
  };
}
