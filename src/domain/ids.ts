// Branded, prefixed, time-sortable identifiers.
// Layout: prefix + 10 chars of Crockford base32 milliseconds + 16 chars of randomness (80 bits).
// Sorting ids as strings sorts them by creation time, which gives cursor pagination for free.

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type AccountId = Brand<string, 'AccountId'>;
export type ApiKeyId = Brand<string, 'ApiKeyId'>;
export type EndpointId = Brand<string, 'EndpointId'>;
export type EventId = Brand<string, 'EventId'>;
export type DeliveryId = Brand<string, 'DeliveryId'>;
export type AttemptId = Brand<string, 'AttemptId'>;
export type OperationalEventId = Brand<string, 'OperationalEventId'>;

export const ID_PREFIX = {
  account: 'acc_',
  apiKey: 'key_',
  endpoint: 'ep_',
  event: 'evt_',
  delivery: 'dlv_',
  attempt: 'att_',
  operational: 'op_',
} as const;
export type IdKind = keyof typeof ID_PREFIX;
type IdOf = {
  account: AccountId;
  apiKey: ApiKeyId;
  endpoint: EndpointId;
  event: EventId;
  delivery: DeliveryId;
  attempt: AttemptId;
  operational: OperationalEventId;
};

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ALPHABET_CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const POOL_SIZE = 4096;
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
let pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

/**
 * Per kind, the character codes of its next id, prefix included. An id is built in place and
 * made into a string at once: appending character by character would allocate a string per
 * character, and ids are made for every event, delivery and attempt.
 */
const scratch = new Map<string, number[]>();

function codesFor(prefix: string): number[] {
  let codes = scratch.get(prefix);
  if (!codes) {
    codes = [...Array.from(prefix, (c) => c.charCodeAt(0)), ...new Array<number>(26).fill(0)];
    scratch.set(prefix, codes);
  }
  return codes;
}

export function newId<K extends IdKind>(kind: K, now: number = Date.now()): IdOf[K] {
  const prefix = ID_PREFIX[kind];
  const codes = codesFor(prefix);
  let at = prefix.length + TIME_CHARS;
  let rest = now;
  for (let i = 0; i < TIME_CHARS; i++) {
    codes[--at] = ALPHABET_CODES[rest % 32]!;
    rest = Math.floor(rest / 32);
  }
  if (poolOffset + RANDOM_CHARS > POOL_SIZE) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolOffset = 0;
  }
  at = prefix.length + TIME_CHARS;
  for (let i = 0; i < RANDOM_CHARS; i++) codes[at++] = ALPHABET_CODES[pool[poolOffset++]! & 31]!;
  return String.fromCharCode.apply(null, codes) as IdOf[K];
}

/**
 * The lowest id of a kind made at `ms`: every id of that kind made earlier sorts before it, every
 * one made then or later after it. Lets the store find old records by their primary key.
 */
export function idFloor(kind: IdKind, ms: number): string {
  let time = '';
  let rest = Math.max(0, Math.floor(ms));
  for (let i = 0; i < TIME_CHARS; i++) {
    time = ALPHABET[rest % 32]! + time;
    rest = Math.floor(rest / 32);
  }
  return ID_PREFIX[kind] + time;
}

const ID_SHAPE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Parses an id received at an edge; returns undefined when it is not an id of that kind. */
export function parseId<K extends IdKind>(kind: K, value: string): IdOf[K] | undefined {
  const prefix = ID_PREFIX[kind];
  if (!value.startsWith(prefix)) return undefined;
  return ID_SHAPE.test(value.slice(prefix.length)) ? (value as IdOf[K]) : undefined;
}
