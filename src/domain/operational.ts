// Operational events: what an account must hear about out of band (a delivery that exhausted its
// retries, an endpoint Herald disabled, credentials that died). They are events: an endpoint
// subscribes to a type by naming it in its `events` (`*` covers only the platform's events), and
// they travel the pipeline every delivery takes (stored, signed, retried, any auth). This table
// is the one list of types: the API accepts these names, the email rules and the docs read it.

import type { Endpoint } from './endpoint.js';
import { statusAtCreation } from './transitions.js';
import {
  newId,
  type AccountId,
  type DeliveryId,
  type EndpointId,
  type OperationalEventId,
} from './ids.js';

export interface OperationalTypeInfo {
  /** What people read in a list of choices (the console's endpoint form). */
  readonly label: string;
  /** Whether the account's contact address is emailed about it. */
  readonly emailed: boolean;
  readonly doc: string;
}

export const OPERATIONAL_EVENT_TYPES = {
  'delivery.exhausted': {
    label: 'A delivery failed for good (retries exhausted)',
    emailed: true,
    doc: 'A delivery used every try of its retry schedule and is now `failed`; retry or recover it once the listener works. `data`: `attempts`, `lastError`.',
  },
  'endpoint.disabled': {
    label: 'An endpoint was disabled',
    emailed: true,
    doc: 'Herald disabled an endpoint: its listener answered `410 Gone`, or it failed without a success for `HERALD_DISABLE_AFTER`. New events wait as `held` until it is enabled. `data`: `reason`.',
  },
  'endpoint.enabled': {
    label: 'An endpoint was enabled again',
    emailed: false,
    doc: 'A disabled endpoint was enabled again; its held deliveries resume.',
  },
  'endpoint.reauthorization_required': {
    label: 'An endpoint needs reconnecting (OAuth credential dead)',
    emailed: true,
    doc: "The token endpoint refused an endpoint's OAuth credential for good (revoked, expired, rotated out); its deliveries are held until someone reconnects it. `data`: `reason`.",
  },
  'endpoint.credentials_replaced': {
    label: 'An endpoint got new credentials',
    emailed: false,
    doc: 'Someone gave an endpoint new credentials; its held deliveries resume.',
  },
  'oauth.persist_failed': {
    label: 'A rotated refresh token could not be stored',
    emailed: false,
    doc: 'A rotated refresh token could not be stored; Herald keeps it in memory and stores it as soon as the store takes it. `data`: `error`.',
  },
} as const satisfies Record<string, OperationalTypeInfo>;

export type OperationalEventType = keyof typeof OPERATIONAL_EVENT_TYPES;
export const OPERATIONAL_TYPE_NAMES = Object.keys(
  OPERATIONAL_EVENT_TYPES,
) as OperationalEventType[];

export function isOperationalType(name: string): name is OperationalEventType {
  return Object.hasOwn(OPERATIONAL_EVENT_TYPES, name);
}

/** The types emailed to the account's contact address. */
export type EmailedType = {
  [K in OperationalEventType]: (typeof OPERATIONAL_EVENT_TYPES)[K]['emailed'] extends true
    ? K
    : never;
}[OperationalEventType];

export function isEmailed(type: OperationalEventType): type is EmailedType {
  return OPERATIONAL_EVENT_TYPES[type].emailed;
}

export interface OperationalEvent {
  readonly id: OperationalEventId;
  readonly accountId: AccountId;
  readonly type: OperationalEventType;
  /** The endpoint it is about (whose trouble it is), if any. */
  readonly endpointId: EndpointId | null;
  readonly deliveryId: DeliveryId | null;
  /** Plain facts (reasons, counts); never a secret. */
  readonly data: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
}

export function newOperationalEvent(
  type: OperationalEventType,
  accountId: AccountId,
  refs: { readonly endpointId?: EndpointId; readonly deliveryId?: DeliveryId },
  data: Readonly<Record<string, unknown>>,
  now: number,
): OperationalEvent {
  return {
    id: newId('operational', now),
    accountId,
    type,
    endpointId: refs.endpointId ?? null,
    deliveryId: refs.deliveryId ?? null,
    data,
    createdAt: now,
  };
}

/** The body a subscribed listener receives: exactly these keys, in this order. */
export function operationalPayload(e: OperationalEvent): string {
  return JSON.stringify({
    type: e.type,
    id: e.id,
    createdAt: new Date(e.createdAt).toISOString(),
    accountId: e.accountId,
    endpointId: e.endpointId,
    deliveryId: e.deliveryId,
    data: e.data,
  });
}

/** Whether the endpoint subscribes to the type: by name only, never through `*`. */
export function subscribesToOperational(
  endpoint: Pick<Endpoint, 'events'>,
  type: OperationalEventType,
): boolean {
  return endpoint.events.includes(type);
}

export type OperationalRoute = Pick<Endpoint, 'id' | 'events' | 'state' | 'authStatus'>;

/**
 * Who receives an operational event: every endpoint of the account that names its type, except
 * the endpoint it is about. That one could rarely take it (disabled, or its credentials dead: it
 * would wait as held until the trouble is over), and an endpoint told of its own exhausted
 * deliveries would feed itself. For the same reason a `delivery.exhausted` about a delivery that
 * itself carried an operational event goes to no endpoint (two failing endpoints subscribed to
 * each other's trouble would otherwise tell each other forever); the account still hears of it by
 * email and in the list of operational events.
 */
export function operationalRecipients(
  routes: readonly OperationalRoute[],
  event: Pick<OperationalEvent, 'type' | 'endpointId'>,
  aboutOperationalDelivery: boolean,
): Array<{ readonly endpointId: EndpointId; readonly status: 'pending' | 'held' }> {
  if (event.type === 'delivery.exhausted' && aboutOperationalDelivery) return [];
  return routes
    .filter((r) => r.id !== event.endpointId && subscribesToOperational(r, event.type))
    .map((r) => ({ endpointId: r.id, status: statusAtCreation(r) }));
}
