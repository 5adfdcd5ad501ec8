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

const keyCache = new Map<string, Uint8Array>();

function keyOf(secret: string): Uint8Array {
  let key = keyCache.get(secret);
  if (!key) {
    key = secretBytes(secret);
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(secret, key);
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
    const mac = createHmac('sha256', keyOf(s.secret))
      .update(signedPrefix(id, timestampSeconds))
      .update(body)
      .digest('base64');
    header = header === undefined ? formatSignature(mac) : `${header} ${formatSignature(mac)}`;
  }
  return header;
}
