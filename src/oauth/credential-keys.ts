// The two identities of an OAuth credential, as short hashes:
//   - its lineage (token URL, client id, grant, the refresh token it was given): the grant whose
//     rotated refresh tokens the stored token record carries. A new client secret or scope keeps
//     the lineage, so the newest refresh token is kept; a new refresh token starts a new lineage.
//   - its submission (every field, and when it was submitted): what a terminal refusal condemns.
//     It stays dead until someone submits credentials again, even the same ones.
// What deliveries waiting for one refresh share (the submission, per endpoint), and when a token
// with a lifetime is refreshed.

import { createHash } from 'node:crypto';
import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';
import type { TokenRecord } from '../store/port.js';

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

/**
 * What waiting deliveries share one refresh or recovery by: the endpoint's credential submission
 * (a delivery with new credentials never joins the old ones' refresh).
 */
export const flightKey = (endpoint: Endpoint): string =>
  `${endpoint.id}|${credentialSubmission(endpoint)}`;

/** The endpoint a `flightKey` belongs to. */
export const endpointOfFlightKey = (key: string): EndpointId =>
  key.slice(0, key.indexOf('|')) as EndpointId;

/** The dead reason of a stored record that condemns this very submission. */
export function deadIn(record: TokenRecord | undefined, submission: string): string | undefined {
  return record?.deadReason && record.deadKey === submission ? record.deadReason : undefined;
}

/** Refresh ahead of expiry by the smaller of 10 % of the lifetime and 60 s. */
export function refreshAheadAt(issuedAt: number, expiresInSeconds: number): number {
  const lifetime = expiresInSeconds * 1000;
  return issuedAt + lifetime - Math.min(lifetime * 0.1, 60_000);
}
