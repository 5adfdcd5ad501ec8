// The two identities of an OAuth credential (see token-manager.ts), as short hashes:
//   - its lineage (token URL, client id, grant, the refresh token it was given): the grant whose
//     rotated refresh tokens the stored token record carries;
//   - its submission (every field, and when it was submitted): what a terminal refusal condemns.
// And when a token with a lifetime is refreshed.

import { createHash } from 'node:crypto';
import type { Endpoint } from '../domain/endpoint.js';

const hash = (parts: unknown[]): string =>
  createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);

// Endpoints are immutable values cached by the worker: hash each one once, not per delivery.
const lineages = new WeakMap<Endpoint, string>();
const submissions = new WeakMap<Endpoint, string>();

/** The grant a stored token record belongs to. */
export function credentialLineage(endpoint: Endpoint): string {
  let key = lineages.get(endpoint);
  if (key === undefined) {
    const o = endpoint.oauth;
    key = hash([o?.tokenUrl, o?.clientId, o?.grantType, endpoint.secrets.refreshToken ?? null]);
    lineages.set(endpoint, key);
  }
  return key;
}

/** This submission of the credential: every field, and when it was submitted. */
export function credentialSubmission(endpoint: Endpoint): string {
  let key = submissions.get(endpoint);
  if (key === undefined) {
    const o = endpoint.oauth;
    key = hash([
      o?.tokenUrl,
      o?.clientId,
      o?.grantType,
      o?.scope,
      o?.authMechanism,
      o?.customParameters,
      endpoint.secrets.clientSecret ?? null,
      endpoint.secrets.refreshToken ?? null,
      endpoint.secrets.credentialsSetAt ?? null,
    ]);
    submissions.set(endpoint, key);
  }
  return key;
}

/** Refresh ahead of expiry by the smaller of 10 % of the lifetime and 60 s. */
export function refreshAheadAt(issuedAt: number, expiresInSeconds: number): number {
  const lifetime = expiresInSeconds * 1000;
  return issuedAt + lifetime - Math.min(lifetime * 0.1, 60_000);
}
