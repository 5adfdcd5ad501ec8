// What the API answers, as zod schemas: the presenters (present.ts) are type-checked against
// them, and the OpenAPI document describes every response from them. One definition of each
// representation, so the document cannot promise a field the server does not send.

import { z } from 'zod';
import { AUTH_TYPES, GRANT_TYPES } from '../domain/auth-types.js';
import { DELIVERY_STATUSES } from '../domain/delivery.js';
import { CONNECTOR_ORIGINS, DEFAULT_ORIGIN } from '../domain/endpoint.js';

const time = z.iso.datetime({ offset: true });
const KeyValue = z.object({ key: z.string(), value: z.string() });
/** A secret as responses show it: masked, e.g. `****7f3a`. */
const Masked = z.string().describe('Masked, e.g. ****7f3a: secrets are write-only');

export const EndpointAuthJson = z
  .object({
    type: z.enum(AUTH_TYPES),
    status: z
      .enum(['ok', 'unverified', 'reauthorization_required'])
      .describe('reauthorization_required: the credential is dead and deliveries are held'),
    key: Masked.nullable().optional().describe('BASIC: the callback key, masked'),
    flavor: z.enum(['generic', 'salesforce']).optional(),
    grantType: z.enum(GRANT_TYPES).optional(),
    tokenUrl: z.string().optional(),
    clientId: z.string().optional(),
    scope: z.string().nullable().optional(),
    authMechanism: z.enum(['HEADER', 'BASIC_AUTH', 'BODY']).optional(),
    customParameters: z.array(KeyValue).optional(),
    clientSecret: Masked.nullable().optional(),
    refreshToken: Masked.nullable().optional(),
  })
  .describe('OAUTH2 adds the non-secret half of the credential and its secrets masked');

export const EndpointJson = z.object({
  id: z.string(),
  origin: z
    .enum([DEFAULT_ORIGIN, ...CONNECTOR_ORIGINS])
    .nullable()
    .describe('The OneSpan configuration slot (/api/callback), or null for a /v1 endpoint'),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  auth: EndpointAuthJson,
  customHeaders: z.array(KeyValue),
  signing: z.object({ enabled: z.boolean(), secrets: z.int() }),
  options: z.object({
    timeoutMs: z.int(),
    maxConcurrency: z.int(),
    rateLimit: z.number().nullable(),
    ordering: z.enum(['none', 'package']),
    retrySchedule: z.array(z.string()).nullable(),
  }),
  state: z.enum(['enabled', 'disabled']),
  disabledReason: z.string().nullable(),
  failingSince: time.nullable(),
  createdAt: time,
  updatedAt: time,
});

export const EndpointWithSecretJson = EndpointJson.extend({
  signingSecret: z
    .string()
    .optional()
    .describe(
      'The new signing secret (whsec_...), shown once: on create, and when signing is turned on',
    ),
});

export const DeliveryJson = z.object({
  id: z.string(),
  eventId: z.string(),
  endpointId: z.string(),
  eventName: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attemptCount: z.int(),
  nextAttemptAt: time.nullable(),
  lastStatusCode: z.int().nullable(),
  lastError: z.string().nullable(),
  createdAt: time,
  updatedAt: time,
});

export const AttemptJson = z.object({
  id: z.string(),
  number: z.int(),
  trigger: z.enum(['scheduled', 'manual', 'token_refresh']),
  startedAt: time,
  durationMs: z.number(),
  statusCode: z.int().nullable(),
  outcome: z.string(),
  error: z.string().nullable(),
  responseBody: z.string().nullable().describe('The start of the answer, at most 4 KiB'),
});

export const DeliveryWithAttemptsJson = DeliveryJson.extend({ attempts: z.array(AttemptJson) });

export const EventJson = z.object({
  id: z.string(),
  name: z.string(),
  packageId: z.string(),
  receivedAt: time,
  payload: z.record(z.string(), z.unknown()).describe('Exactly the body every listener receives'),
});

export const EventWithDeliveriesJson = EventJson.extend({ deliveries: z.array(DeliveryJson) });

export const AccountJson = z.object({
  id: z.string(),
  name: z.string(),
  contactEmail: z.string().nullable(),
  createdAt: time,
});

export const ApiKeyJson = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: time,
  revokedAt: time.nullable(),
  key: z.string().optional().describe('The key itself: shown once, when it is created'),
});

export const AccountCreatedJson = AccountJson.extend({ apiKey: ApiKeyJson });

export const OperationalEventJson = z.object({
  id: z.string(),
  type: z.string(),
  endpointId: z.string().nullable(),
  deliveryId: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  createdAt: time,
});

/** OneSpan's `Callback`, secrets masked. */
export const CallbackJson = z.object({
  url: z.string(),
  key: z.string().describe('The callback key (or salesforceOauth2 key) masked; "" when none'),
  events: z.array(z.string()),
  authType: z.enum(AUTH_TYPES),
  customHeaders: z.array(KeyValue),
  oauthSetting: z
    .object({
      clientId: z.string(),
      clientSecret: Masked.nullable(),
      authorizationServerUrl: z.string(),
      scope: z.string().nullable(),
      grantType: z.enum(GRANT_TYPES),
      refreshToken: Masked.nullable(),
      authMechanism: z.enum(['HEADER', 'BASIC_AUTH', 'BODY']),
      customParameters: z.array(KeyValue),
    })
    .optional(),
});

export const PublishedJson = z.union([
  z.object({ id: z.string() }).describe('One event published'),
  z.object({ ids: z.array(z.string()) }).describe('A batch published, ids in order'),
]);

export const ProbeJson = z.object({
  ok: z.boolean(),
  statusCode: z.int().nullable(),
  durationMs: z.number(),
  responseBody: z.string().nullable(),
  error: z.string().nullable(),
  eventId: z.string(),
  event: z.record(z.string(), z.unknown()).describe('The test event as sent'),
});

export const RecoveredJson = z.object({ recovered: z.int() });

export const RotatedSecretJson = z.object({
  signingSecret: z.string(),
  previousValidForHours: z.int(),
});

export const TokenTestJson = z.object({
  ok: z.boolean(),
  error: z.string().nullable(),
  instanceUrl: z.string().nullable(),
  scope: z.string().nullable(),
  rotated: z.boolean(),
  identity: z
    .object({
      username: z.string().optional(),
      userId: z.string().optional(),
      organizationId: z.string().optional(),
    })
    .nullable(),
});

export const TokenRevokedJson = z.object({ result: z.enum(['revoked', 'already_invalid']) });

export const IntrospectionJson = z
  .record(z.string(), z.unknown())
  .describe('The token endpoint’s introspection answer (RFC 7662), as it sent it');

export const HealthJson = z.object({
  status: z.enum(['ok', 'unavailable']),
  version: z.string(),
});

export const ReadyJson = z.object({ status: z.literal('ready'), version: z.string() });

export const ServiceJson = z.object({ service: z.string(), version: z.string(), docs: z.string() });

/** A page of a list: newest first, `next` the cursor of the next page or null at the end. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), next: z.string().nullable() });
}

/** What a presenter returns for a representation: its output type, read-only all the way down. */
export type Presented<S extends z.ZodType> = DeepReadonly<z.output<S>>;
type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
