// Standard Webhooks signatures, in the wire format that @herald/client defines and verifies
// (packages/client/src/standard-webhooks.ts): `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
// one per valid signing secret (several during a rotation), space-separated. Signed here with
// node:crypto's synchronous HMAC and cached keys: one signature per delivery on the hot path.

import { createHmac } from 'node:crypto';
import {
  formatSignature,
  secretBytes,
  signedPrefix,
} from '../../packages/client/src/standard-webhooks.js';
import type { SigningSecret } from '../domain/endpoint.js';

// Decoded once per secret object: the worker keeps one endpoint object per version, so the key
// lives as long as the endpoint's copy does, and goes with it when the endpoint is deleted.
const keys = new WeakMap<SigningSecret, Uint8Array>();

function keyOf(s: SigningSecret): Uint8Array {
  let key = keys.get(s);
  if (!key) {
    key = secretBytes(s.secret);
    keys.set(s, key);
  }
  return key;
}

export function signatureHeader(
  secrets: readonly SigningSecret[],
  id: string,
  timestampSeconds: number,
  body: string,
  now: number,
): string | undefined {
  let header: string | undefined;
  for (const s of secrets) {
    if (s.expiresAt !== null && s.expiresAt <= now) continue;
    const mac = createHmac('sha256', keyOf(s))
      .update(signedPrefix(id, timestampSeconds))
      .update(body)
      .digest('base64');
    header = header === undefined ? formatSignature(mac) : `${header} ${formatSignature(mac)}`;
  }
  return header;
}
