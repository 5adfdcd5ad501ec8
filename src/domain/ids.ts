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
const POOL_SIZE = 4096;
let pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomChars(count: number): string {
  if (poolOffset + count > POOL_SIZE) {
    pool = globalThis.crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    poolOffset = 0;
  }
  let out = '';
  for (let i = 0; i < count; i++) out += ALPHABET[pool[poolOffset++]! & 31];
  return out;
}

function timeChars(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

export function newId<K extends IdKind>(kind: K, now: number = Date.now()): IdOf[K] {
  return (ID_PREFIX[kind] + timeChars(now) + randomChars(16)) as IdOf[K];
}

const ID_SHAPE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Parses an id received at an edge; returns undefined when it is not an id of that kind. */
export function parseId<K extends IdKind>(kind: K, value: string): IdOf[K] | undefined {
  const prefix = ID_PREFIX[kind];
  if (!value.startsWith(prefix)) return undefined;
  return ID_SHAPE.test(value.slice(prefix.length)) ? (value as IdOf[K]) : undefined;
}
