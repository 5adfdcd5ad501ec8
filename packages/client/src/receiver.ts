// The receiver side: check that a callback came from Herald, then read its event.
// A listener checks the OneSpan-style Basic callback key, or a Standard Webhooks signature, or
// both; then parses the body into a typed event (unknown names are kept, not rejected).
// Verification is async: Web Crypto's HMAC is, and it is what runs everywhere.

import { isKnownEventName, type KnownEventName } from './events.js';
import {
  computeSignature,
  secretBytes,
  signaturesIn,
  timingSafeEqual,
} from './standard-webhooks.js';

export interface CallbackEvent {
  readonly '@class'?: string;
  /** A known name, or a newer one this code does not know yet. */
  readonly name: KnownEventName | (string & {});
  readonly sessionUser: string | null;
  readonly packageId: string;
  readonly message: string | null;
  readonly documentId: string | null;
  readonly createdDate: string;
  /** COBROWSE_REQUEST and any field the publisher attached. */
  readonly [extra: string]: unknown;
}

export interface VerifyOptions {
  /** The callback key registered with Herald: `Authorization: Basic <key>` must carry it. */
  readonly callbackKey?: string | undefined;
  /**
   * Standard Webhooks signing secrets (`whsec_...`). One valid signature from any of them
   * suffices, so during a rotation list the new secret and the old one.
   */
  readonly signingSecrets?: readonly string[] | undefined;
  /** Largest accepted difference between `webhook-timestamp` and now (default 300 s). */
  readonly toleranceSeconds?: number | undefined;
  /** The clock, in milliseconds (default Date.now). */
  readonly now?: (() => number) | undefined;
}

/** Headers as Fetch (`Headers`), Node (`req.headers`) or any plain object carries them. */
export type CallbackHeaders =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface CallbackRequest {
  readonly headers: CallbackHeaders;
  /** The raw body, exactly as received: not JSON parsed and serialised again. */
  readonly body: string | Uint8Array;
}

/** Why a callback was refused; stable, for code to branch on. */
export type VerificationErrorKind =
  /** Neither a callback key nor a signing secret was given to verify against. */
  | 'no_credentials_configured'
  /** A signing secret given to verify against is not `whsec_` + base64. */
  | 'invalid_secret'
  /** No `Authorization` header, or one that is not `Basic <key>`. */
  | 'missing_authorization'
  /** `Authorization: Basic ...` carries another key. */
  | 'wrong_callback_key'
  /** One of webhook-id, webhook-timestamp, webhook-signature is missing. */
  | 'missing_signature_headers'
  /** webhook-timestamp is not a number of seconds, or too far from now. */
  | 'timestamp_out_of_tolerance'
  /** No signature in the header matches any of the secrets. */
  | 'invalid_signature'
  /** The body is not JSON, or not an event (name and packageId are required). */
  | 'invalid_body';

export class CallbackVerificationError extends Error {
  override name = 'CallbackVerificationError';
  constructor(
    readonly kind: VerificationErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** A header's value, whatever the case of its name in `headers`. */
export function headerValue(headers: CallbackHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const wanted = name.toLowerCase();
  for (const key of Object.keys(record)) {
    if (key.toLowerCase() !== wanted) continue;
    const value = record[key];
    return typeof value === 'string' ? value : value?.[0];
  }
  return undefined;
}

/**
 * Verifies a callback and returns its event; rejects with a CallbackVerificationError (see its
 * `kind`) otherwise. Give the raw body: a body parsed and serialised again no longer matches.
 */
export async function verifyCallback(
  request: CallbackRequest,
  options: VerifyOptions,
): Promise<CallbackEvent> {
  await checkCallbackCredentials(request, options);
  return parseCallbackEvent(request.body);
}

/**
 * The first half of verifyCallback: the callback key and the signature, not the body's shape.
 * Rejects with a CallbackVerificationError when they do not match.
 */
export async function checkCallbackCredentials(
  request: CallbackRequest,
  options: VerifyOptions,
): Promise<void> {
  const secrets = options.signingSecrets ?? [];
  if (options.callbackKey === undefined && secrets.length === 0) {
    throw new CallbackVerificationError(
      'no_credentials_configured',
      'Give a callbackKey or signingSecrets to verify against',
    );
  }
  if (options.callbackKey !== undefined) checkCallbackKey(request.headers, options.callbackKey);
  if (secrets.length > 0) await checkSignature(request, secrets, options);
}

function checkCallbackKey(headers: CallbackHeaders, key: string): void {
  const authorization = headerValue(headers, 'authorization');
  const match = authorization === undefined ? null : /^basic (.*)$/is.exec(authorization);
  if (!match) {
    throw new CallbackVerificationError(
      'missing_authorization',
      'The callback has no Authorization: Basic header',
    );
  }
  if (!timingSafeEqual(match[1]!, key)) {
    throw new CallbackVerificationError(
      'wrong_callback_key',
      'The Authorization header does not carry the callback key',
    );
  }
}

async function checkSignature(
  request: CallbackRequest,
  secrets: readonly string[],
  options: VerifyOptions,
): Promise<void> {
  for (const secret of secrets) {
    try {
      secretBytes(secret);
    } catch {
      throw new CallbackVerificationError(
        'invalid_secret',
        'A signing secret is not whsec_ followed by base64, as Herald shows it',
      );
    }
  }
  const id = headerValue(request.headers, 'webhook-id');
  const timestamp = headerValue(request.headers, 'webhook-timestamp');
  const header = headerValue(request.headers, 'webhook-signature');
  if (!id || !timestamp || !header) {
    throw new CallbackVerificationError(
      'missing_signature_headers',
      'The callback lacks webhook-id, webhook-timestamp or webhook-signature',
    );
  }
  const now = Math.floor((options.now ?? Date.now)() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - Number(timestamp)) > tolerance) {
    throw new CallbackVerificationError(
      'timestamp_out_of_tolerance',
      `webhook-timestamp is more than ${tolerance} s from now (or not a time)`,
    );
  }
  const given = signaturesIn(header);
  if (given.length > 0) {
    for (const secret of secrets) {
      const expected = await computeSignature(secret, id, timestamp, request.body);
      if (given.some((signature) => timingSafeEqual(signature, expected))) return;
    }
  }
  throw new CallbackVerificationError(
    'invalid_signature',
    'No webhook-signature matches the signing secrets',
  );
}

/** Parses a callback body into an event; throws on bodies that are not a OneSpan event. */
export function parseCallbackEvent(body: string | Uint8Array): CallbackEvent {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
  } catch {
    throw new CallbackVerificationError('invalid_body', 'The body is not JSON');
  }
  const e = value as Record<string, unknown>;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    typeof e.name !== 'string' ||
    typeof e.packageId !== 'string'
  ) {
    throw new CallbackVerificationError(
      'invalid_body',
      'The body is not an event: name and packageId are required',
    );
  }
  return value as CallbackEvent;
}

export function isKnownEvent(
  event: CallbackEvent,
): event is CallbackEvent & { name: KnownEventName } {
  return isKnownEventName(event.name);
}
