// OAuth tokens, shared by every worker: single flight across processes (the lock),
// persist-before-use (saveToken's compare-and-set).

import type { EndpointId } from '../../domain/ids.js';

/**
 * The token state of an endpoint's OAuth credential, shared by every worker. Tokens are sealed.
 * `credentialKey` identifies the credential the row derives from: when the endpoint gets new
 * credentials the key changes, and the row's tokens no longer apply.
 */
export interface TokenRecord {
  readonly endpointId: EndpointId;
  readonly credentialKey: string;
  /** Moves on with every stored refresh; a reader that saw generation g knows whether someone refreshed since. */
  readonly generation: number;
  readonly accessTokenCiphertext: string | null;
  readonly refreshTokenCiphertext: string | null;
  /** Hard expiry from `expires_in`, or null when the server sent none (Salesforce). */
  readonly expiresAt: number | null;
  /** When to refresh ahead of expiry, or null. */
  readonly refreshAt: number | null;
  readonly instanceUrl: string | null;
  /** Set when the token endpoint said the credential is dead (never try it again). */
  readonly deadReason: string | null;
  /** Which submission of the credential is dead; submitting credentials again lifts it. */
  readonly deadKey: string | null;
  readonly updatedAt: number;
}

export interface TokenStore {
  getToken(endpointId: EndpointId): Promise<TokenRecord | undefined>;
  /**
   * Writes the record if the stored generation is `record.generation - 1` (or there is no row and
   * `record.generation` is 1); false when someone else wrote first.
   */
  saveToken(record: TokenRecord): Promise<boolean>;
  /** Takes the refresh lock of the endpoint's credential if it is free or expired. */
  acquireTokenLock(
    endpointId: EndpointId,
    owner: string,
    now: number,
    until: number,
  ): Promise<boolean>;
  releaseTokenLock(endpointId: EndpointId, owner: string): Promise<void>;
}
