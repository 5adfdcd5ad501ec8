// Request body schemas for both APIs and the console's forms (zod). They check shapes; the rules
// they share (event names, custom header limits, the SSRF guard) are applied by the services.
// The same schemas feed the OpenAPI document.

import { z } from 'zod';
import { HEADER_VALUE } from '../domain/endpoint.js';
import { MAX_RETRY_WAIT, parseDuration } from '../domain/retry.js';

/** A Basic callback key: Herald sends it in the Authorization header, so it must fit there. */
export const BASIC_KEY_RULES = {
  maxLength: 1024,
  tooLong: 'must be at most 1,024 characters',
  pattern: HEADER_VALUE,
  badCharacters:
    'must be printable ASCII or Latin-1, without line breaks or control characters (it is sent in the Authorization header)',
} as const;
const CallbackKey = z
  .string()
  .max(BASIC_KEY_RULES.maxLength, BASIC_KEY_RULES.tooLong)
  .regex(BASIC_KEY_RULES.pattern, BASIC_KEY_RULES.badCharacters);

/** What `events` means, for the OpenAPI document. */
const EVENTS_DOC =
  'Event names to deliver, e.g. ["PACKAGE_COMPLETE"]; ["*"] subscribes to every transaction event (known names and names added later), not to operational events';

export const KeyValueSchema = z.object({
  key: z.string(),
  value: z.string(),
});

// ---- OneSpan-compatible `Callback` ----

export const OAuthSettingSchema = z.object({
  clientId: z.string().nullish(),
  clientSecret: z.string().nullish(),
  authorizationServerUrl: z.string().nullish(),
  scope: z.string().nullish(),
  grantType: z.enum(['CLIENT_CREDENTIALS', 'REFRESH_TOKEN']).nullish(),
  refreshToken: z.string().nullish(),
  authMechanism: z.enum(['HEADER', 'BASIC_AUTH', 'BODY']).nullish(),
  customParameters: z.array(KeyValueSchema).nullish(),
});

export const CallbackSchema = z.object({
  url: z.string({ error: 'url is required (an absolute http or https URL)' }),
  events: z.array(z.string()).describe(EVENTS_DOC).nullish(),
  // A Basic key, or a salesforceOauth2 key (base64, line breaks allowed): checked by auth type.
  key: z.string().nullish(),
  authType: z.enum(['NONE', 'BASIC', 'OAUTH2']).nullish(),
  oauthSetting: OAuthSettingSchema.nullish(),
  customHeaders: z.array(KeyValueSchema).nullish(),
});
export type CallbackBody = z.infer<typeof CallbackSchema>;

// ---- native /v1 ----

const Duration = z.union([
  z.number().int().min(0).max(MAX_RETRY_WAIT, 'must be at most 7 days'),
  z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'must be a duration such as 500ms, 30s, 5m or 2h')
    .refine(
      (text) => (parseDuration(text) ?? Infinity) <= MAX_RETRY_WAIT,
      'must be at most 7 days',
    ),
]);

export const EndpointOptionsSchema = z.object({
  timeoutMs: z.number().int().min(1000).max(60_000).optional(),
  maxConcurrency: z.number().int().min(1).max(1000).optional(),
  rateLimit: z
    .number()
    .min(0.001, 'must be at least 0.001 (one request per 1,000 s), or null for no limit')
    .max(100_000)
    .nullable()
    .optional(),
  ordering: z.enum(['none', 'package']).optional(),
  retrySchedule: z.array(Duration).min(0).max(30).nullable().optional(),
});

export const AuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('NONE') }),
  z.object({ type: z.literal('BASIC'), key: CallbackKey.min(1, 'key must not be empty') }),
  z.object({
    type: z.literal('OAUTH2'),
    /** A `salesforceOauth2` key (base64 JSON), instead of the fields below. */
    salesforceKey: z.string().optional(),
    grantType: z.enum(['CLIENT_CREDENTIALS', 'REFRESH_TOKEN']).optional(),
    tokenUrl: z.string().optional(),
    clientId: z.string().optional(),
    clientSecret: z.string().optional(),
    refreshToken: z.string().optional(),
    scope: z.string().nullable().optional(),
    authMechanism: z.enum(['HEADER', 'BASIC_AUTH', 'BODY']).optional(),
    customParameters: z.array(KeyValueSchema).optional(),
  }),
]);
export type AuthBody = z.infer<typeof AuthSchema>;

export const EndpointCreateSchema = z.object({
  url: z.string({ error: 'url is required (an absolute http or https URL)' }),
  events: z.array(z.string()).describe(EVENTS_DOC),
  description: z.string().max(500).nullable().optional(),
  auth: AuthSchema.optional(),
  customHeaders: z.array(KeyValueSchema).optional(),
  options: EndpointOptionsSchema.optional(),
  signing: z.boolean().optional(),
});

export const EndpointPatchSchema = z.object({
  url: z.string().optional(),
  events: z.array(z.string()).describe(EVENTS_DOC).optional(),
  description: z.string().max(500).nullable().optional(),
  auth: AuthSchema.optional(),
  customHeaders: z.array(KeyValueSchema).optional(),
  options: EndpointOptionsSchema.optional(),
  signing: z.boolean().optional(),
  state: z.enum(['enabled', 'disabled']).optional(),
});

export const CredentialsSchema = z.object({
  key: CallbackKey.min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  refreshToken: z.string().min(1).optional(),
  salesforceKey: z.string().min(1).optional(),
});

export const RecoverSchema = z.object({
  since: z
    .string({ error: 'since is required (an ISO-8601 date-time)' })
    .min(1, 'since is required (an ISO-8601 date-time)'),
  until: z.string().optional(),
});

export const AccountCreateSchema = z.object({
  name: z.string().min(1).max(200),
  contactEmail: z.email().nullable().optional(),
});

export const AccountPatchSchema = z.object({
  contactEmail: z.email().max(320).nullable(),
});

export const ApiKeyCreateSchema = z.object({
  name: z.string().min(1).max(200).optional(),
});

export const TestEventSchema = z
  .object({
    name: z.string().optional(),
    packageId: z.string().optional(),
  })
  .loose();
