// What travels: the OneSpan event the platform publishes, the exact body Herald delivers for it,
// and the headers Herald sends with it. The raw baseline sends these same bytes, so the only
// difference between `raw` and `basic` is Herald itself.

import { normaliseEvent } from '../../src/domain/events.js';
import { VERSION } from '../../src/version.js';

export const EVENT_NAME = 'PACKAGE_COMPLETE';
export const CALLBACK_KEY = 'bench-callback-key-0123456789';

/** A OneSpan-shaped package id (28 characters, base64 with padding), distinct per `i`. */
function packageId(i: number): string {
  return `BENCH${i.toString(36).padStart(22, '0')}=`;
}

/** What a platform publishes to `POST /v1/events`; `extra` fields are carried to listeners. */
export function eventInput(
  i: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { name: EVENT_NAME, packageId: packageId(i), sessionUser: '30ba8506', ...extra };
}

/** `count` events from `start`, as the JSON array body of one batch publish. */
export function batchBody(start: number, count: number): string {
  const events: Record<string, unknown>[] = [];
  for (let i = start; i < start + count; i++) events.push(eventInput(i));
  return JSON.stringify(events);
}

/** The exact wire body Herald delivers for event `i` (OneSpan's seven keys, in order). */
export function deliveredBody(i: number): string {
  return normaliseEvent(eventInput(i), Date.now()).payload;
}

/**
 * The headers Herald sends to a Basic endpoint without a signing secret (a OneSpan-style
 * callback): see Dispatcher.headers. The basic scenario checks at run time that a real delivery
 * carries the same header names, so this cannot drift silently.
 */
export function deliveryHeaders(webhookId: string): Record<string, string> {
  return {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': `Herald/${VERSION}`,
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    authorization: `Basic ${CALLBACK_KEY}`,
  };
}

/** A webhook-id of the same length as Herald's event ids (`evt_` + 26 characters). */
export function syntheticWebhookId(prefix: string, n: number): string {
  return `evt_${prefix}${n
    .toString(36)
    .toUpperCase()
    .padStart(26 - prefix.length, '0')}`;
}

/**
 * Events `first` .. `first + count - 1` as one publish body, each carrying `benchSentAt` (the
 * publisher's clock when the request is sent): a JSON object for a single-event publish, else
 * an array.
 */
export function stampedBody(first: number, count: number, sentAt: number, single: boolean): string {
  if (single) return JSON.stringify(eventInput(first, { benchSentAt: sentAt }));
  const events: Record<string, unknown>[] = [];
  for (let i = first; i < first + count; i++) events.push(eventInput(i, { benchSentAt: sentAt }));
  return JSON.stringify(events);
}
