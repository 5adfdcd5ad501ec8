// Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid
// signing secret (several during a rotation), space-separated.

import { createHmac } from 'node:crypto';
import type { SigningSecret } from '../domain/endpoint.js';

const keyCache = new Map<string, Buffer>();

function keyOf(secret: string): Buffer {
  let key = keyCache.get(secret);
  if (!key) {
    key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
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
      .update(`${id}.${timestampSeconds}.`)
      .update(body)
      .digest('base64');
    header = header === undefined ? `v1,${mac}` : `${header} v1,${mac}`;
  }
  return header;
}
