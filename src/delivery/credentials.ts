// How a delivery authenticates to its listener. NONE and BASIC are answered here; OAUTH2 is
// delegated to a token source (the OAuth token manager), which this module only knows as a seam.
// What a listener's refusal of a bearer token leads to is delivery/bearer.ts.

import { authorizationOf } from '../domain/auth-types.js';
import type { Endpoint } from '../domain/endpoint.js';

export type Authorization =
  | {
      readonly ok: true;
      /** The Authorization header value, or undefined for none. */
      readonly header: string | undefined;
      /** A bearer token: a 401 may mean it expired. */
      readonly bearer: boolean;
      /** Generation of the token used, for "has someone refreshed since?" after a 401. */
      readonly generation: number;
    }
  | {
      readonly ok: false;
      /** terminal: the credential is dead (re-authorization needed); transient: try later. */
      readonly kind: 'terminal' | 'transient';
      readonly message: string;
      /** For transient failures: how long to wait before trying this delivery again. */
      readonly retryInMs: number;
      /** Which submission of the credential failed (a newer one must not be parked for it). */
      readonly credential?: string;
    };

export interface TokenSource {
  /** A current access token for the endpoint (from cache, or obtained once for all waiters). */
  accessToken(endpoint: Endpoint): Promise<Authorization>;
  /** The listener refused the token of `generation`: a newer one (adopted or refreshed once). */
  tokenRejected(endpoint: Endpoint, generation: number): Promise<Authorization>;
  /** Whether a listener has refused the token of `generation` (or of a newer one). */
  refused(endpoint: Endpoint, generation: number): boolean;
}

export class Credentials {
  constructor(readonly tokens: TokenSource) {}

  authorize(endpoint: Endpoint): Promise<Authorization> | Authorization {
    switch (authorizationOf(endpoint)) {
      case 'none':
        return { ok: true, header: undefined, bearer: false, generation: 0 };
      case 'basic':
        // OneSpan's callback key goes raw after "Basic", not base64 user:password.
        return {
          ok: true,
          header: `Basic ${endpoint.secrets.basicKey ?? ''}`,
          bearer: false,
          generation: 0,
        };
      case 'bearer':
        return this.tokens.accessToken(endpoint);
    }
  }
}
