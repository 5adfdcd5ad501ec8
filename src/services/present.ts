// JSON representations, shared by the API and the console (which renders from them, so a page
// can only show what the API would). Secrets leave only masked; times leave as ISO-8601 strings.

import { maskSecret, type Endpoint } from '../domain/endpoint.js';
import { isOperationalType } from '../domain/operational.js';
import { formatDuration } from '../domain/retry.js';
import type {
  AccountRecord,
  AttemptRecord,
  DeliveryRecord,
  EventRecord,
  OperationalEventRecord,
} from '../store/port.js';
import type { PublicApiKey } from './accounts.js';
import { presentAuth, presentCallbackAuth } from './auth/index.js';
import type {
  AccountJson,
  ApiKeyJson,
  AttemptJson,
  CallbackJson,
  DeliveryJson,
  EndpointAuthJson,
  EndpointJson,
  EventJson,
  OperationalEventJson,
  Presented,
} from './representations.js';

const stamp = (ms: number): string => new Date(ms).toISOString();
const iso = (ms: number | null): string | null => (ms === null ? null : stamp(ms));
/** Custom header values may be credentials (an API key header): shown masked like any secret. */
const maskedHeaders = (headers: Endpoint['customHeaders']) =>
  headers.map((h) => ({ key: h.key, value: maskSecret(h.value) }));

/**
 * OneSpan's `Callback` object, with the key masked. Only OneSpan's own field names. `url`, `key`
 * and `events` are never null: the SDKs' setters throw on null (no key reads `""`, as OneSpan's).
 */
export function presentCallback(e: Endpoint): Record<string, unknown> {
  const { key, oauthSetting } = presentCallbackAuth(e);
  return {
    url: e.url,
    key: key ?? '',
    // Operational subscriptions (made on /v1) are not OneSpan event names: the SDKs read this
    // list as their own enum, so it shows OneSpan's names only.
    events: e.events.filter((name) => !isOperationalType(name)),
    authType: e.authType,
    customHeaders: maskedHeaders(e.customHeaders),
    ...(oauthSetting ? { oauthSetting } : {}),
  } satisfies Presented<typeof CallbackJson>;
}

export function presentEndpoint(e: Endpoint): Record<string, unknown> {
  const auth: Presented<typeof EndpointAuthJson> = {
    type: e.authType,
    status: e.authStatus,
    ...presentAuth(e),
  };
  const secrets = e.secrets.signingSecrets ?? [];
  return {
    id: e.id,
    origin: e.origin,
    url: e.url,
    events: e.events,
    description: e.description,
    auth,
    customHeaders: maskedHeaders(e.customHeaders),
    signing: { enabled: secrets.length > 0, secrets: secrets.length },
    options: {
      ...e.options,
      retrySchedule: e.options.retrySchedule?.map(formatDuration) ?? null,
    },
    state: e.state,
    disabledReason: e.disabledReason,
    failingSince: iso(e.failingSince),
    createdAt: stamp(e.createdAt),
    updatedAt: stamp(e.updatedAt),
  } satisfies Presented<typeof EndpointJson>;
}

export function presentDelivery(d: DeliveryRecord): Record<string, unknown> {
  return {
    id: d.id,
    eventId: d.eventId,
    endpointId: d.endpointId,
    eventName: d.eventName,
    status: d.status,
    attemptCount: d.attempts,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: stamp(d.createdAt),
    updatedAt: stamp(d.updatedAt),
  } satisfies Presented<typeof DeliveryJson>;
}

export function presentAttempt(a: AttemptRecord): Record<string, unknown> {
  return {
    id: a.id,
    number: a.number,
    trigger: a.trigger,
    startedAt: stamp(a.startedAt),
    durationMs: a.durationMs,
    statusCode: a.statusCode,
    outcome: a.outcome,
    error: a.error,
    responseBody: a.responseBody,
  } satisfies Presented<typeof AttemptJson>;
}

export function presentEvent(e: EventRecord): Record<string, unknown> {
  return {
    id: e.id,
    name: e.name,
    packageId: e.packageId,
    receivedAt: stamp(e.receivedAt),
    payload: JSON.parse(e.payload) as Record<string, unknown>,
  } satisfies Presented<typeof EventJson>;
}

export function presentAccount(a: AccountRecord): Record<string, unknown> {
  return {
    id: a.id,
    name: a.name,
    contactEmail: a.contactEmail,
    createdAt: stamp(a.createdAt),
  } satisfies Presented<typeof AccountJson>;
}

export function presentApiKey(k: PublicApiKey & { key?: string }): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: stamp(k.createdAt),
    revokedAt: iso(k.revokedAt),
    ...(k.key === undefined ? {} : { key: k.key }),
  } satisfies Presented<typeof ApiKeyJson>;
}

export function presentOperationalEvent(e: OperationalEventRecord): Record<string, unknown> {
  return {
    id: e.id,
    type: e.type,
    endpointId: e.endpointId,
    deliveryId: e.deliveryId,
    data: e.data,
    createdAt: stamp(e.createdAt),
  } satisfies Presented<typeof OperationalEventJson>;
}
