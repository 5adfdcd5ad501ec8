// Reading the console's forms: fields as strings, times in UTC, and the endpoint form as the same
// body `POST /v1/endpoints` takes, checked by the same schema and turned into a draft by the same
// code, so the console accepts exactly what the API accepts.

import type { Context } from 'hono';
import { ValidationError } from '../errors.js';
import { AUTH_FORM_CHOICES } from '../domain/auth-types.js';
import { ALL_EVENTS } from '../domain/endpoint.js';
import { isOperationalType } from '../domain/operational.js';
import { KNOWN_EVENT_NAMES } from '../domain/events.js';
import type { EndpointCreateSchema } from '../services/schemas.js';
import { SALESFORCE_LOGIN_URLS } from '../services/web-connect.js';
import type { z } from 'zod';

export type Form = Record<string, string | string[]>;

export async function readForm(c: Context): Promise<Form> {
  const body = await c.req.parseBody({ all: true });
  const out: Form = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value))
      out[name] = value.filter((v): v is string => typeof v === 'string');
  }
  return out;
}

/** One field's text, trimmed; '' when absent. */
export function text(form: Form, name: string): string {
  const value = form[name];
  return (Array.isArray(value) ? (value[0] ?? '') : (value ?? '')).trim();
}

export function all(form: Form, name: string): string[] {
  const value = form[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A `datetime-local` value read as UTC (the console shows and takes every time in UTC). */
export function utcTime(value: string, field: string): number | undefined {
  if (value === '') return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(ms)) {
    throw new ValidationError('validation_failed', `${field} is not a date and time`);
  }
  return ms;
}

/** A From / Until pair of `datetime-local` fields, in UTC; Until must come after From. */
export function timeRangeOf(
  since: string,
  until: string,
): { since: number | undefined; until: number | undefined } {
  const range = { since: utcTime(since, 'From'), until: utcTime(until, 'Until') };
  if (range.since !== undefined && range.until !== undefined && range.until <= range.since) {
    throw new ValidationError('validation_failed', 'Until must be after From');
  }
  return range;
}

/** A time for a `datetime-local` field, in UTC, to the minute. */
export function utcField(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 16);
}

/** OneSpan's admin screen groups events by who makes them happen; the console does the same. */
export const EVENT_GROUPS: ReadonlyArray<{
  readonly title: string;
  readonly events: ReadonlyArray<readonly [string, string]>;
}> = [
  {
    title: 'Account generated',
    events: [
      ['TEMPLATE_CREATE', 'Template created'],
      ['PACKAGE_CREATE', 'Transaction created'],
      ['PACKAGE_ACTIVATE', 'Transaction activated'],
      ['PACKAGE_DEACTIVATE', 'Transaction deactivated'],
      ['PACKAGE_READY_FOR_COMPLETE', 'Transaction ready for completion'],
      ['PACKAGE_COMPLETE', 'Transaction completed'],
      ['PACKAGE_EXPIRE', 'Transaction expired'],
      ['PACKAGE_ARCHIVE', 'Transaction archived'],
      ['PACKAGE_TRASH', 'Transaction moved to trash'],
      ['PACKAGE_RESTORE', 'Transaction restored'],
      ['PACKAGE_DELETE', 'Transaction deleted'],
      ['EMAIL_BOUNCE', 'Email bounced'],
    ],
  },
  {
    title: 'Participant generated',
    events: [
      ['DOCUMENT_VIEWED', 'Document viewed'],
      ['DOCUMENT_SIGNED', 'Document signed'],
      ['SIGNER_COMPLETE', 'Signer completed signing'],
      ['PACKAGE_DECLINE', 'Transaction declined'],
      ['PACKAGE_OPT_OUT', 'Transaction opted out of'],
      ['PACKAGE_ATTACHMENT', 'Attachment uploaded'],
      ['ROLE_REASSIGN', 'Signer reassigned'],
      ['SIGNER_LOCKED', 'Signer locked out'],
      ['KBA_FAILURE', 'Identity verification (KBA) failed'],
      ['COBROWSE_REQUEST', 'Co-browse requested'],
    ],
  },
];

/** Every known name appears in a group (a unit test checks this against KNOWN_EVENT_NAMES). */
export const GROUPED_EVENTS: readonly string[] = EVENT_GROUPS.flatMap((g) =>
  g.events.map(([n]) => n),
);
export const UNGROUPED_EVENTS = KNOWN_EVENT_NAMES.filter((n) => !GROUPED_EVENTS.includes(n));

export type EndpointBody = z.input<typeof EndpointCreateSchema>;

/** Connecting Salesforce: log in before the endpoint is created (a new endpoint only). */
export const SALESFORCE_CONNECT = {
  choice: 'SALESFORCE_CONNECT',
  label: 'Salesforce: log in and allow access (Connect)',
} as const;

/**
 * Auth choices of the form: one per auth type's form section (the registry's, e.g.
 * `SALESFORCE_KEY` takes a salesforceOauth2 key), and SALESFORCE_CONNECT.
 */
export const AUTH_CHOICES: readonly string[] = [
  ...AUTH_FORM_CHOICES.map((c) => c.choice),
  SALESFORCE_CONNECT.choice,
];

export const CUSTOM_HEADER_ROWS = 5;
export const CUSTOM_PARAMETER_ROWS = 3;

function pairs(form: Form, prefix: string, rows: number): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  for (let i = 0; i < rows; i++) {
    const key = text(form, `${prefix}${i}Key`);
    const value = text(form, `${prefix}${i}Value`);
    if (key !== '' || value !== '') out.push({ key, value });
  }
  return out;
}

function number(form: Form, name: string, label: string, scale = 1): number | undefined {
  const raw = text(form, name);
  if (raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n))
    throw new ValidationError('validation_failed', `${label} must be a number`);
  return Math.round(n * scale * 1000) / 1000;
}

/**
 * The endpoint form as a /v1 endpoint body. `masked` gives, for a secret field left empty on an
 * edit, the masked value the API shows: sent back, it means "keep the stored secret".
 */
export function endpointBody(
  form: Form,
  masked: (field: 'key' | 'clientSecret' | 'refreshToken') => string | undefined,
): EndpointBody {
  const events = all(form, 'events').filter((e) => e !== '');
  const others = text(form, 'otherEvents')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((e) => e.toUpperCase());
  // "All events" covers OneSpan's names only: operational types ticked beside it are kept.
  const chosen = events.includes(ALL_EVENTS)
    ? [ALL_EVENTS, ...events.filter(isOperationalType)]
    : [...events, ...others];
  const choice = text(form, 'authType');
  const secret = (name: 'key' | 'clientSecret' | 'refreshToken', field: string) => {
    const value = text(form, field);
    return value !== '' ? value : masked(name);
  };
  let auth: EndpointBody['auth'];
  switch (choice) {
    case 'BASIC':
      auth = { type: 'BASIC', key: secret('key', 'basicKey') ?? '' };
      break;
    case 'OAUTH2': {
      const grantType =
        text(form, 'grantType') === 'REFRESH_TOKEN' ? 'REFRESH_TOKEN' : 'CLIENT_CREDENTIALS';
      const mechanism = text(form, 'authMechanism');
      auth = {
        type: 'OAUTH2',
        grantType,
        tokenUrl: text(form, 'tokenUrl'),
        clientId: text(form, 'clientId'),
        clientSecret: secret('clientSecret', 'clientSecret'),
        refreshToken:
          grantType === 'REFRESH_TOKEN' ? secret('refreshToken', 'refreshToken') : undefined,
        scope: text(form, 'scope') || null,
        authMechanism: mechanism === 'BODY' || mechanism === 'BASIC_AUTH' ? mechanism : 'HEADER',
        customParameters: pairs(form, 'param', CUSTOM_PARAMETER_ROWS),
      };
      break;
    }
    case 'SALESFORCE_KEY':
      auth = {
        type: 'OAUTH2',
        salesforceKey: text(form, 'salesforceKey') || masked('refreshToken') || '',
      };
      break;
    default:
      auth = { type: 'NONE' };
  }
  const retry = text(form, 'retrySchedule');
  const rate = number(form, 'rateLimit', 'Rate limit');
  const ordering = text(form, 'ordering');
  return {
    url: text(form, 'url'),
    events: chosen,
    description: text(form, 'description') || null,
    auth,
    customHeaders: pairs(form, 'header', CUSTOM_HEADER_ROWS),
    options: {
      timeoutMs: number(form, 'timeoutSeconds', 'Timeout', 1000),
      maxConcurrency: number(form, 'maxConcurrency', 'Maximum concurrency'),
      rateLimit: rate === undefined ? null : rate,
      ordering: ordering === 'package' ? 'package' : 'none',
      retrySchedule: retry === '' ? null : retry.split(/[\s,]+/).filter(Boolean),
    },
    signing: text(form, 'signing') === 'on',
  };
}

/** The login host chosen in a Salesforce login choice (radio `login`, field `loginUrl`). */
export function chosenLoginUrl(form: Form): string {
  const login = text(form, 'login');
  if (login === 'production') return SALESFORCE_LOGIN_URLS.production;
  if (login === 'sandbox') return SALESFORCE_LOGIN_URLS.sandbox;
  return text(form, 'loginUrl');
}
