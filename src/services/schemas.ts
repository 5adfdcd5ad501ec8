// Request body schemas for both APIs and the console's forms (zod). They check shapes; the rules
// they share (event names, custom header limits, the SSRF guard) are applied by the services.
// The same schemas feed the OpenAPI document.

import { z } from 'zod';
import { AUTH_TYPES } from '../domain/auth-types.js';
import { MAX_RETRY_WAIT, parseDuration } from '../domain/retry.js';
import { AuthSchema } from './auth/index.js';
import { CallbackKey } from './auth/basic.js';
import { KeyValueSchema } from './auth/draft.js';
import { OAuthSettingSchema } from './auth/oauth2.js';

export type { AuthBody } from './auth/index.js';

/** What `events` means, for the OpenAPI document. */
const EVENTS_DOC =
  'Event names to deliver, e.g. ["PACKAGE_COMPLETE"]; ["*"] subscribes to every transaction event (known names and names added later), not to operational events';

// ---- OneSpan-compatible `Callback` ----

export const CallbackSchema = z.object({
  url: z.string({ error: 'url is required (an absolute http or https URL)' }),
  events: z.array(z.string()).describe(EVENTS_DOC).nullish(),
  // A Basic key, or a salesforceOauth2 key (base64, line breaks allowed): checked by auth type.
  key: z.string().nullish(),
  authType: z.enum(AUTH_TYPES).nullish(),
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
