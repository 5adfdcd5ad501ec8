// Token tools for an endpoint's stored OAuth credential: test, refresh, revoke, introspect
// (`herald token ... --endpoint`, `/v1/endpoints/{id}/token/...`). Refreshing goes through the
// token manager, so it is single flight and a rotated refresh token is stored: testing never
// breaks the grant.

import { HeraldError, ValidationError } from '../errors.js';
import { usesTokens } from '../domain/auth-types.js';
import type { Endpoint } from '../domain/endpoint.js';
import type { AccountId, EndpointId } from '../domain/ids.js';
import { credentialLineage, credentialSubmission } from '../oauth/credential-keys.js';
import type { TokenManager } from '../oauth/token-manager.js';
import {
  fetchIdentity,
  introspectToken,
  revokeToken,
  type Identity,
  type TokenServer,
} from '../oauth/token-tools.js';
import type { EndpointHealth } from './endpoint-health.js';
import type { TokenStore } from '../store/port.js';
import type { EndpointRepository } from './endpoint-repo.js';

export interface TokenTestReport {
  readonly ok: boolean;
  readonly error: string | null;
  readonly instanceUrl: string | null;
  readonly scope: string | null;
  readonly rotated: boolean;
  readonly identity: Identity | null;
}

/** What is known of an endpoint's tokens, without the tokens: for the console's token panel. */
export interface TokenState {
  /** An access token is held for the current credential. */
  readonly hasAccessToken: boolean;
  /** When the token record last changed (the last refresh, or the credential found dead). */
  readonly updatedAt: number;
  /** When the access token expires, if the server said (Salesforce does not). */
  readonly expiresAt: number | null;
  /** How many refreshes have been stored for this credential. */
  readonly generation: number;
  readonly deadReason: string | null;
}

export class EndpointTokens {
  constructor(
    private readonly repo: EndpointRepository,
    private readonly tokens: TokenManager,
    private readonly health: EndpointHealth,
    private readonly fetchImpl: typeof fetch,
    /** The stored token records, for their state. */
    private readonly store: TokenStore,
  ) {}

  private async oauthEndpoint(
    accountId: AccountId,
    id: EndpointId,
  ): Promise<Endpoint & { oauth: NonNullable<Endpoint['oauth']> }> {
    const endpoint = await this.repo.get(accountId, id);
    if (!usesTokens(endpoint) || !endpoint.oauth) {
      throw new ValidationError('invalid_credentials', `Endpoint ${id} does not use OAuth 2.0`);
    }
    return endpoint as Endpoint & { oauth: NonNullable<Endpoint['oauth']> };
  }

  private server(endpoint: Endpoint & { oauth: NonNullable<Endpoint['oauth']> }): TokenServer {
    return {
      tokenUrl: endpoint.oauth.tokenUrl,
      clientId: endpoint.oauth.clientId,
      clientSecret: endpoint.secrets.clientSecret,
    };
  }

  /** The token record of the endpoint's current credential, or null when none was obtained yet. */
  async state(accountId: AccountId, id: EndpointId): Promise<TokenState | null> {
    const endpoint = await this.oauthEndpoint(accountId, id);
    const record = await this.store.getToken(endpoint.id);
    if (!record || record.credentialKey !== credentialLineage(endpoint)) return null;
    return {
      hasAccessToken: record.accessTokenCiphertext !== null,
      updatedAt: record.updatedAt,
      expiresAt: record.expiresAt,
      generation: record.generation,
      deadReason: record.deadReason,
    };
  }

  /** One refresh now; with `identify`, also asks who the new token belongs to. */
  async refresh(accountId: AccountId, id: EndpointId, identify: boolean): Promise<TokenTestReport> {
    const endpoint = await this.oauthEndpoint(accountId, id);
    const report = await this.tokens.forceRefresh(endpoint);
    const auth = report.authorization;
    if (!auth.ok) {
      if (auth.kind === 'terminal')
        await this.health.requireReauthorization(endpoint.id, auth.message, auth.credential);
      return {
        ok: false,
        error: auth.message,
        instanceUrl: null,
        scope: null,
        rotated: false,
        identity: null,
      };
    }
    let identity: Identity | null = null;
    if (identify && report.identityUrl && auth.header) {
      identity = await fetchIdentity(
        report.identityUrl,
        auth.header.slice('Bearer '.length),
        this.fetchImpl,
      ).catch(() => null);
    }
    return {
      ok: true,
      error: null,
      instanceUrl: report.instanceUrl,
      scope: report.scope,
      rotated: report.rotated,
      identity,
    };
  }

  /** Revokes the credential at the authorization server and parks the endpoint until reconnected. */
  async revoke(
    accountId: AccountId,
    id: EndpointId,
  ): Promise<{ result: 'revoked' | 'already_invalid' }> {
    const endpoint = await this.oauthEndpoint(accountId, id);
    const current = await this.tokens.currentTokens(endpoint);
    const token = current.refreshToken ?? current.accessToken;
    let result: 'revoked' | 'already_invalid' = 'already_invalid';
    if (token) {
      try {
        result = await revokeToken(this.server(endpoint), token, this.fetchImpl);
      } catch (error) {
        throw new HeraldError(
          'upstream_error',
          `Revocation failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    const reason =
      'The credential was revoked with herald token revoke; reconnect the endpoint to deliver again.';
    await this.tokens.revoked(endpoint, reason);
    await this.health.requireReauthorization(endpoint.id, reason, credentialSubmission(endpoint));
    return { result };
  }

  /** Introspects the access token in use (getting one first if there is none). */
  async introspect(accountId: AccountId, id: EndpointId): Promise<Record<string, unknown>> {
    const endpoint = await this.oauthEndpoint(accountId, id);
    let { accessToken } = await this.tokens.currentTokens(endpoint);
    if (!accessToken) {
      const auth = await this.tokens.accessToken(endpoint);
      if (!auth.ok) throw new ValidationError('invalid_credentials', auth.message);
      accessToken = auth.header?.slice('Bearer '.length);
    }
    try {
      return { ...(await introspectToken(this.server(endpoint), accessToken!, this.fetchImpl)) };
    } catch (error) {
      throw new HeraldError(
        'upstream_error',
        `Introspection failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
