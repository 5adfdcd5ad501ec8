// Opaque values in Salesforce's shapes. Clients should treat them as opaque, but realistic shapes
// catch real bugs: access tokens contain `!` and `.`, authorization codes are standard base64 with
// `+`, `/` and `==` (so a client that forgets to URL-decode the callback fails here, not in
// production), and record ids are 18 characters with Salesforce's case-safe checksum.

import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_CHARS = `${ALNUM}._`;

function randomFrom(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

// The 3-character suffix that turns a case-sensitive 15-character id into the case-insensitive
// 18-character form: one character per 5-character chunk, encoding which letters are upper case.
function caseSafeSuffix(id15: string): string {
  const map = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const ch = id15[chunk * 5 + i] ?? '';
      if (ch >= 'A' && ch <= 'Z') flags |= 1 << i;
    }
    suffix += map[flags];
  }
  return suffix;
}

/** An 18-character record id with the given key prefix (`00D` org, `005` user). */
export function recordId(keyPrefix: string): string {
  const id15 = keyPrefix + '5g0000' + randomFrom(ALNUM, 15 - keyPrefix.length - 6);
  return id15 + caseSafeSuffix(id15);
}

/** Session-style access token: the org id (15 chars), `!`, then an opaque tail. */
export function accessToken(orgId: string): string {
  return `${orgId.slice(0, 15)}!AQ${randomFrom(TOKEN_CHARS, 94)}`;
}

export function refreshToken(): string {
  return `5Aep861${randomFrom(TOKEN_CHARS, 80)}`;
}

/** 43 random bytes → standard base64 ending in `==`, like Salesforce's codes. */
export function authorizationCode(): string {
  return `aPrx${randomBytes(43).toString('base64')}`;
}

export function consumerKey(): string {
  return `3MVG9${randomFrom(TOKEN_CHARS, 80)}`;
}

export function consumerSecret(): string {
  return randomBytes(32).toString('hex').toUpperCase();
}

/** Unguessable handle for server-side state referenced from a hidden form field. */
export function handle(): string {
  return randomBytes(24).toString('base64url');
}

/** Salesforce's `signature`: base64 HMAC-SHA256 of `id + issued_at`, keyed with the secret. */
export function responseSignature(clientSecret: string, id: string, issuedAt: string): string {
  return createHmac('sha256', clientSecret)
    .update(id + issuedAt)
    .digest('base64');
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(verifier))). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Constant-time string comparison; hashing first makes the lengths equal. */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
