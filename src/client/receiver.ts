// The receiver side: check that a callback came from Herald and read its event.
// A listener checks the OneSpan-style Basic callback key, or a Standard Webhooks signature, or
// both; then parses the body into a typed event (unknown names are kept, not rejected).

import { createHmac, timingSafeEqual } from 'node:crypto';
import { isKnownEventName, type KnownEventName } from '../domain/events.js';

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
  /** The callback key registered with Herald: `Authorization: Basic <key>` must match. */
  readonly callbackKey?: string;
  /** Standard Webhooks signing secrets (`whsec_...`); any one valid signature suffices. */
  readonly signingSecrets?: readonly string[];
  /** Largest accepted clock difference for `webhook-timestamp` (default 300 s). */
  readonly toleranceSeconds?: number;
  readonly now?: () => number;
}

export class CallbackVerificationError extends Error {
  override name = 'CallbackVerificationError';
}

type Headers = Readonly<Record<string, string | string[] | undefined>> | globalThis.Headers;

function header(headers: Headers, name: string): string | undefined {
  if (typeof (headers as globalThis.Headers).get === 'function')
    return (headers as globalThis.Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Verifies a callback and returns its event; throws CallbackVerificationError otherwise. */
export function verifyCallback(
  request: { headers: Headers; body: string },
  options: VerifyOptions,
): CallbackEvent {
  checkCallbackCredentials(request, options);
  return parseCallbackEvent(request.body);
}

/**
 * The first half of verifyCallback: the callback key and the signature, not the body's shape.
 * Throws CallbackVerificationError when they do not match.
 */
export function checkCallbackCredentials(
  request: { headers: Headers; body: string },
  options: VerifyOptions,
): void {
  if (options.callbackKey === undefined && (options.signingSecrets ?? []).length === 0) {
    throw new CallbackVerificationError('Give a callbackKey or signingSecrets to verify against');
  }
  if (options.callbackKey !== undefined) {
    const authorization = header(request.headers, 'authorization') ?? '';
    if (!equal(authorization, `Basic ${options.callbackKey}`)) {
      throw new CallbackVerificationError(
        'The Authorization header does not carry the callback key',
      );
    }
  }
  if (options.signingSecrets && options.signingSecrets.length > 0) {
    const id = header(request.headers, 'webhook-id');
    const timestamp = header(request.headers, 'webhook-timestamp');
    const signatures = header(request.headers, 'webhook-signature');
    if (!id || !timestamp || !signatures)
      throw new CallbackVerificationError(
        'Missing webhook-id, webhook-timestamp or webhook-signature',
      );
    const now = Math.floor((options.now ?? Date.now)() / 1000);
    if (
      !/^\d+$/.test(timestamp) ||
      Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)
    ) {
      throw new CallbackVerificationError('webhook-timestamp is too old or too new');
    }
    const expected = options.signingSecrets.map((secret) =>
      createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64'))
        .update(`${id}.${timestamp}.${request.body}`)
        .digest('base64'),
    );
    const given = signatures
      .split(' ')
      .filter((s) => s.startsWith('v1,'))
      .map((s) => s.slice(3));
    if (!given.some((g) => expected.some((e) => equal(g, e)))) {
      throw new CallbackVerificationError('No valid webhook-signature');
    }
  }
}

/** Parses a callback body into an event; throws on bodies that are not a OneSpan event. */
export function parseCallbackEvent(body: string): CallbackEvent {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new CallbackVerificationError('The body is not JSON');
  }
  const e = value as Record<string, unknown>;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof e.name !== 'string' ||
    typeof e.packageId !== 'string'
  ) {
    throw new CallbackVerificationError(
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
