// Turns validated request bodies (OneSpan `Callback`, /v1 endpoint, the console's endpoint form)
// into endpoint drafts. Masked secrets sent back (`****7f3a`) mean "keep what is stored", while it
// goes where it went (services/secret-binding.ts).

import { ValidationError } from '../errors.js';
import {
  DEFAULT_ENDPOINT_OPTIONS,
  isMasked,
  type Endpoint,
  type EndpointOptions,
  type OAuthSettings,
  type Origin,
} from '../domain/endpoint.js';
import { parseDuration } from '../domain/retry.js';
import { parseSalesforceKey, salesforceTokenUrl } from '../domain/salesforce-key.js';
import {
  KEEP,
  type AuthDraft,
  type EndpointDraft,
  type EndpointPatch,
  type SecretInput,
} from './endpoints.js';
import type { SecretFields } from './secret-binding.js';
import { BASIC_KEY_RULES, type AuthBody, type CallbackBody } from './schemas.js';
import type { z } from 'zod';
import type {
  EndpointCreateSchema,
  EndpointOptionsSchema,
  EndpointPatchSchema,
} from './schemas.js';

function secretInput(value: string): SecretInput {
  return isMasked(value) ? KEEP : value;
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError('validation_failed', `${path} ${message}`, {
    problems: [{ path, message }],
  });
}

/** A `salesforceOauth2` key as an OAuth draft; a masked key keeps the stored credential. */
export function salesforceAuth(key: string, existing: Endpoint | undefined): AuthDraft {
  if (isMasked(key)) {
    if (!existing?.oauth)
      throw invalid('key', 'is masked but no Salesforce credential is stored; send the full key');
    // Keep exactly what is stored: a refresh-token key usually has no client secret.
    return {
      type: 'OAUTH2',
      oauth: existing.oauth,
      clientSecret: existing.secrets.clientSecret === undefined ? null : KEEP,
      refreshToken: existing.secrets.refreshToken === undefined ? null : KEEP,
    };
  }
  const parsed = parseSalesforceKey(key);
  const oauth: OAuthSettings = {
    flavor: 'salesforce',
    grantType: parsed.refreshToken ? 'REFRESH_TOKEN' : 'CLIENT_CREDENTIALS',
    tokenUrl: salesforceTokenUrl(parsed.host),
    clientId: parsed.clientId,
    scope: null,
    authMechanism: 'BODY',
    customParameters: [],
  };
  return {
    type: 'OAUTH2',
    oauth,
    clientSecret: parsed.clientSecret,
    refreshToken: parsed.refreshToken,
  };
}

/** How OneSpan's `Callback` names the secrets. */
const CALLBACK_FIELDS: SecretFields = {
  key: 'key',
  clientSecret: 'oauthSetting/clientSecret',
  refreshToken: 'oauthSetting/refreshToken',
  customHeaders: 'customHeaders',
};

export function draftFromCallback(
  origin: Origin,
  body: CallbackBody,
  existing: Endpoint | undefined,
): EndpointDraft {
  const key = body.key ?? '';
  const type =
    body.authType ??
    (origin === 'salesforceOauth2' && key !== '' ? 'OAUTH2' : key !== '' ? 'BASIC' : 'NONE');
  let auth: AuthDraft;
  switch (type) {
    case 'NONE':
      auth = { type: 'NONE' };
      break;
    case 'BASIC':
      if (key === '') throw invalid('key', 'is required when authType is BASIC');
      if (key.length > BASIC_KEY_RULES.maxLength) throw invalid('key', BASIC_KEY_RULES.tooLong);
      if (!BASIC_KEY_RULES.pattern.test(key)) throw invalid('key', BASIC_KEY_RULES.badCharacters);
      auth = { type: 'BASIC', key: secretInput(key) };
      break;
    case 'OAUTH2': {
      const s = body.oauthSetting;
      if (!s) {
        if (origin === 'salesforceOauth2' && key !== '') {
          auth = salesforceAuth(key, existing);
          break;
        }
        throw invalid('oauthSetting', 'is required when authType is OAUTH2');
      }
      auth = genericOAuth(
        {
          grantType: s.grantType ?? undefined,
          tokenUrl: s.authorizationServerUrl ?? undefined,
          clientId: s.clientId ?? undefined,
          clientSecret: s.clientSecret ?? undefined,
          refreshToken: s.refreshToken ?? undefined,
          scope: s.scope ?? null,
          authMechanism: s.authMechanism ?? undefined,
          customParameters: s.customParameters ?? undefined,
        },
        'oauthSetting/',
        existing,
      );
      break;
    }
  }
  return {
    url: body.url.trim(),
    events: body.events ?? [],
    description: existing?.description ?? null,
    auth,
    customHeaders: body.customHeaders ?? [],
    options: existing?.options ?? DEFAULT_ENDPOINT_OPTIONS,
    signing: existing?.secrets.signingSecrets !== undefined,
    fields: CALLBACK_FIELDS,
  };
}

type OAuthFields = {
  grantType?: 'CLIENT_CREDENTIALS' | 'REFRESH_TOKEN' | undefined;
  tokenUrl?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  refreshToken?: string | undefined;
  scope?: string | null | undefined;
  authMechanism?: 'HEADER' | 'BASIC_AUTH' | 'BODY' | undefined;
  customParameters?: ReadonlyArray<{ key: string; value: string }> | undefined;
};

/** Token request parameters the grant itself sends: a custom parameter may not replace them. */
const GRANT_PARAMETERS: ReadonlySet<string> = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'refresh_token',
  'client_assertion',
  'client_assertion_type',
]);

function genericOAuth(f: OAuthFields, at: string, existing: Endpoint | undefined): AuthDraft {
  const grantType = f.grantType ?? (f.refreshToken ? 'REFRESH_TOKEN' : 'CLIENT_CREDENTIALS');
  if (!f.clientId) throw invalid(`${at}clientId`, 'is required');
  const tokenUrlName = at === '' ? 'tokenUrl' : `${at}authorizationServerUrl`;
  if (!f.tokenUrl) throw invalid(tokenUrlName, 'is required (the token endpoint URL)');
  const clientSecret = f.clientSecret ? secretInput(f.clientSecret) : null;
  const refreshToken = f.refreshToken ? secretInput(f.refreshToken) : null;
  if (grantType === 'REFRESH_TOKEN' && refreshToken === null) {
    throw invalid(`${at}refreshToken`, 'is required with grantType REFRESH_TOKEN');
  }
  if (grantType === 'CLIENT_CREDENTIALS' && clientSecret === null) {
    throw invalid(`${at}clientSecret`, 'is required with grantType CLIENT_CREDENTIALS');
  }
  (f.customParameters ?? []).forEach((p, i) => {
    const path = `${at}customParameters/${i}/key`;
    if (p.key === '') throw invalid(path, 'must not be empty');
    if (GRANT_PARAMETERS.has(p.key)) {
      throw invalid(path, `${p.key} is set by Herald for the grant and cannot be overridden`);
    }
  });
  const oauth: OAuthSettings = {
    flavor:
      existing?.oauth?.flavor === 'salesforce' && existing.oauth.tokenUrl === f.tokenUrl
        ? 'salesforce'
        : 'generic',
    grantType,
    tokenUrl: f.tokenUrl.trim(),
    clientId: f.clientId,
    scope: f.scope ?? null,
    authMechanism: f.authMechanism ?? 'HEADER',
    customParameters: f.customParameters ?? [],
  };
  return { type: 'OAUTH2', oauth, clientSecret, refreshToken };
}

/** The /v1 `auth` object as a draft. */
export function authFromBody(
  auth: AuthBody | undefined,
  existing: Endpoint | undefined,
): AuthDraft {
  if (!auth) return { type: 'NONE' };
  switch (auth.type) {
    case 'NONE':
      return { type: 'NONE' };
    case 'BASIC':
      return { type: 'BASIC', key: secretInput(auth.key) };
    case 'OAUTH2':
      if (auth.salesforceKey !== undefined) return salesforceAuth(auth.salesforceKey, existing);
      return genericOAuth(auth, '', existing);
  }
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
