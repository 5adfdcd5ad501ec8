// Turns validated request bodies (OneSpan `Callback`, /v1 endpoint, the console's endpoint form)
// into endpoint drafts. Masked secrets sent back (`****7f3a`) mean "keep what is stored", while it
// goes where it went (services/secret-binding.ts). Each auth type's part is its module's
// (services/auth/).

import {
  DEFAULT_ENDPOINT_OPTIONS,
  type Endpoint,
  type EndpointOptions,
  type Origin,
} from '../domain/endpoint.js';
import { parseDuration } from '../domain/retry.js';
import { authFromBody, authFromCallback } from './auth/index.js';
import type { EndpointDraft, EndpointPatch } from './endpoints.js';
import { CALLBACK_FIELDS } from './secret-binding.js';
import type { CallbackBody } from './schemas.js';
import type { z } from 'zod';
import type {
  EndpointCreateSchema,
  EndpointOptionsSchema,
  EndpointPatchSchema,
} from './schemas.js';

export { salesforceAuth } from './auth/salesforce.js';

/** OneSpan's `Callback` as a draft; its auth is mapped by the auth type registry (auth/). */
export function draftFromCallback(
  origin: Origin,
  body: CallbackBody,
  existing: Endpoint | undefined,
): EndpointDraft {
  return {
    url: body.url.trim(),
    events: body.events ?? [],
    description: existing?.description ?? null,
    auth: authFromCallback(origin, body, existing),
    customHeaders: body.customHeaders ?? [],
    options: existing?.options ?? DEFAULT_ENDPOINT_OPTIONS,
    signing: existing?.secrets.signingSecrets !== undefined,
    fields: CALLBACK_FIELDS,
  };
}

export function optionsFromBody(
  body: z.infer<typeof EndpointOptionsSchema> | undefined,
  base: EndpointOptions = DEFAULT_ENDPOINT_OPTIONS,
): EndpointOptions {
  if (!body) return base;
  return {
    timeoutMs: body.timeoutMs ?? base.timeoutMs,
    maxConcurrency: body.maxConcurrency ?? base.maxConcurrency,
    rateLimit: body.rateLimit === undefined ? base.rateLimit : body.rateLimit,
    ordering: body.ordering ?? base.ordering,
    retrySchedule:
      body.retrySchedule === undefined
        ? base.retrySchedule
        : body.retrySchedule === null
          ? null
          : body.retrySchedule.map((d) => (typeof d === 'number' ? d : parseDuration(d)!)),
  };
}

/** A validated /v1 endpoint body (or the console's endpoint form) as a new endpoint's draft. */
export function draftFromBody(body: z.infer<typeof EndpointCreateSchema>): EndpointDraft {
  return {
    url: body.url.trim(),
    events: body.events,
    description: body.description ?? null,
    auth: authFromBody(body.auth, undefined),
    customHeaders: body.customHeaders ?? [],
    options: optionsFromBody(body.options),
    signing: body.signing ?? true,
  };
}

/** A validated endpoint change as a patch of `current` (masked secrets keep what is stored). */
export function patchFromBody(
  body: z.infer<typeof EndpointPatchSchema>,
  current: Endpoint,
): EndpointPatch {
  return {
    url: body.url?.trim(),
    events: body.events,
    description: body.description,
    auth: body.auth ? authFromBody(body.auth, current) : undefined,
    customHeaders: body.customHeaders,
    options: body.options ? optionsFromBody(body.options, current.options) : undefined,
    signing: body.signing,
  };
}
