// Standard Webhooks signatures (https://www.standardwebhooks.com): the one definition of the wire
// format, used by Herald's server to sign and by listeners to verify.
//
//   webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">
//
// keyed with the secret's bytes (`whsec_` + base64). During a rotation the header carries one
// signature per valid secret, separated by spaces. Only Web APIs here (TextEncoder, atob/btoa,
// crypto.subtle), so it runs on Node 20+, Deno, Bun and Cloudflare Workers alike.

export const SECRET_PREFIX = 'whsec_';
export const SIGNATURE_VERSION = 'v1';

/** What a signature covers, before the body: `<id>.<timestamp>.` */
export function signedPrefix(id: string, timestampSeconds: number | string): string {
  return `${id}.${timestampSeconds}.`;
}

/** The key bytes of a signing secret (`whsec_` + base64; the prefix is optional). */
export function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const base64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (base64 === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new TypeError('A signing secret is whsec_ followed by base64');
  }
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** One signature as it appears in the header: `v1,<base64 MAC>`. */
export function formatSignature(base64Mac: string): string {
  return `${SIGNATURE_VERSION},${base64Mac}`;
}

/** The base64 MACs of the `v1` signatures in a `webhook-signature` header (others are ignored). */
export function signaturesIn(header: string): string[] {
  const prefix = `${SIGNATURE_VERSION},`;
  return header
    .split(' ')
    .filter((part) => part.startsWith(prefix))
    .map((part) => part.slice(prefix.length));
}

function base64Of(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const encoder = new TextEncoder();

/** The bytes a signature covers: the prefix, then the body exactly as sent. */
function signedBytes(
  id: string,
  timestamp: number | string,
  body: string | Uint8Array,
): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(signedPrefix(id, timestamp));
  const rest = typeof body === 'string' ? encoder.encode(body) : body;
  const all = new Uint8Array(prefix.length + rest.length);
  all.set(prefix, 0);
  all.set(rest, prefix.length);
  return all;
}

/** The base64 HMAC-SHA256 of a callback, with one secret (Web Crypto, hence async). */
export async function computeSignature(
  secret: string,
  id: string,
  timestamp: number | string,
  body: string | Uint8Array,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    secretBytes(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, signedBytes(id, timestamp, body));
  return base64Of(new Uint8Array(mac));
}

/**
 * The `webhook-signature` header for a callback: one `v1` signature per secret, space-separated.
 * For tests of a listener, and for anyone who relays callbacks.
 */
export async function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number | string,
  body: string | Uint8Array,
): Promise<string> {
  const macs = await Promise.all(secrets.map((s) => computeSignature(s, id, timestamp, body)));
  return macs.map(formatSignature).join(' ');
}

/** Compares two strings in time that depends only on their lengths. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
