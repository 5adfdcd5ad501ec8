// The rest of a token's life: who it belongs to (identity), whether it is alive (introspection),
// and revocation. Salesforce's endpoints sit next to the token endpoint on the same host.

import * as oauth from 'oauth4webapi';

export interface TokenServer {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  /** Defaults derived from the token URL (`.../token` -> `.../revoke`, `.../introspect`). */
  readonly revokeUrl?: string | undefined;
  readonly introspectUrl?: string | undefined;
}

function sibling(tokenUrl: string, name: string): string {
  if (!/\/token$/.test(tokenUrl)) {
    throw new Error(`Cannot derive the ${name} endpoint from ${tokenUrl}; give its URL`);
  }
  return tokenUrl.replace(/\/token$/, `/${name}`);
}

function server(s: TokenServer): oauth.AuthorizationServer {
  return {
    issuer: new URL(s.tokenUrl).origin,
    token_endpoint: s.tokenUrl,
    revocation_endpoint: s.revokeUrl ?? sibling(s.tokenUrl, 'revoke'),
    introspection_endpoint: s.introspectUrl ?? sibling(s.tokenUrl, 'introspect'),
  };
}

function options(url: string, fetchImpl: typeof fetch) {
  return { [oauth.customFetch]: fetchImpl, [oauth.allowInsecureRequests]: url.startsWith('http:') };
}

/**
 * Revokes a refresh or access token (revoking a refresh token ends the whole grant).
 * Salesforce answers `400 invalid_token` for a token it does not know: already revoked, done.
 */
export async function revokeToken(
  s: TokenServer,
  token: string,
  fetchImpl: typeof fetch,
): Promise<'revoked' | 'already_invalid'> {
  const as = server(s);
  const auth = s.clientSecret ? oauth.ClientSecretPost(s.clientSecret) : oauth.None();
  const response = await oauth.revocationRequest(
    as,
    { client_id: s.clientId },
    auth,
    token,
    options(as.revocation_endpoint!, fetchImpl),
  );
  try {
    await oauth.processRevocationResponse(response);
    return 'revoked';
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.error === 'invalid_token')
      return 'already_invalid';
    throw error;
  }
}

export async function introspectToken(
  s: TokenServer,
  token: string,
  fetchImpl: typeof fetch,
): Promise<oauth.IntrospectionResponse> {
  const as = server(s);
  const auth = s.clientSecret ? oauth.ClientSecretPost(s.clientSecret) : oauth.None();
  const response = await oauth.introspectionRequest(
    as,
    { client_id: s.clientId },
    auth,
    token,
    options(as.introspection_endpoint!, fetchImpl),
  );
  return oauth.processIntrospectionResponse(as, { client_id: s.clientId }, response);
}

export interface Identity {
  readonly username: string | undefined;
  readonly userId: string | undefined;
  readonly organizationId: string | undefined;
}

/** Salesforce's identity URL (the `id` of a token response) answers who the token belongs to. */
export async function fetchIdentity(
  identityUrl: string,
  accessToken: string,
  fetchImpl: typeof fetch,
): Promise<Identity> {
  const response = await fetchImpl(identityUrl, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`the identity URL answered HTTP ${response.status}`);
  const body = (await response.json()) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    username: text(body.username) ?? text(body.preferred_username),
    userId: text(body.user_id),
    organizationId: text(body.organization_id),
  };
}
