// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid
// signing secret (several during a rotation), space-separated.

import { createHmac } from 'node:crypto';
import type { SigningSecret } from '../domain/endpoint.js';

// Decoded once per secret object: the worker keeps one endpoint object per version, so the key
// lives as long as the endpoint's copy does, and goes with it when the endpoint is deleted.
const keys = new WeakMap<SigningSecret, Buffer>();

function keyOf(s: SigningSecret): Buffer {
  let key = keys.get(s);
  if (!key) {
    key = Buffer.from(s.secret.startsWith('whsec_') ? s.secret.slice(6) : s.secret, 'base64');
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
      .update(`${id}.${timestampSeconds}.`)
      .update(body)
      .digest('base64');
    header = header === undefined ? `v1,${mac}` : `${header} v1,${mac}`;
  }
  return header;
}
