// Client authentication at the token and introspection endpoints. Salesforce accepts the
// consumer key and secret either in the form body (client_secret_post) or as HTTP Basic
// (client_secret_basic); a public client sends only client_id.

import { oauthError, type OAuthError } from './http.js';
import type { ConnectedApp } from './state.js';
import { safeEqual } from './tokens.js';

export interface ClientAuth {
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

// RFC 6749 §2.3.1: both halves of the Basic credentials are form-urlencoded before base64.
function decodeBasic(header: string): ClientAuth | undefined {
  const match = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const unescape = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return {
    clientId: unescape(decoded.slice(0, colon)),
    clientSecret: unescape(decoded.slice(colon + 1)) || undefined,
  };
}

export function readClientAuth(
  authorization: string | undefined,
  form: URLSearchParams,
): ClientAuth {
  const basic = authorization ? decodeBasic(authorization) : undefined;
  if (basic) return basic;
  return {
    clientId: form.get('client_id') ?? undefined,
    clientSecret: form.get('client_secret') || undefined,
  };
}

/**
 * Check the client against the connected app. A wrong secret always fails, even where none is
 * required; a missing one fails only where the app requires it.
 */
export function checkClient(
  app: ConnectedApp,
  auth: ClientAuth,
  secretRequired: boolean,
): OAuthError | undefined {
  if (auth.clientId === undefined || !safeEqual(auth.clientId, app.clientId)) {
    return oauthError('invalid_client_id', 'client identifier invalid');
  }
  if (auth.clientSecret === undefined) {
    return secretRequired ? oauthError('invalid_client', 'invalid client credentials') : undefined;
  }
  if (!safeEqual(auth.clientSecret, app.clientSecret)) {
    return oauthError('invalid_client', 'invalid client credentials');
  }
  return undefined;
}
