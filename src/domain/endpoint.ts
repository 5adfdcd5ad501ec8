// Endpoints: where an account's events go, how the listener authenticates them, and how hard
// Herald may push. Plain data and rules; persistence and encryption live elsewhere.

import type { AccountId, EndpointId } from './ids.js';

export type AuthType = 'NONE' | 'BASIC' | 'OAUTH2';
export type AuthStatus = 'ok' | 'unverified' | 'reauthorization_required';
export type EndpointState = 'enabled' | 'disabled';
export type Ordering = 'none' | 'package';

/** OneSpan connector origins (`/api/callback/connectors/{origin}`). */
export const CONNECTOR_ORIGINS = [
  'salesforceOauth2',
  'dynamics',
  'dynamics2011',
  'dynamics2013',
  'dynamics2015',
  'sharepoint',
  'sharepoint2010',
  'sharepoint2013',
] as const;
export type ConnectorOrigin = (typeof CONNECTOR_ORIGINS)[number];
/** The slot of `/api/callback` itself. Native `/v1` endpoints have no origin. */
export const DEFAULT_ORIGIN = 'default';
export type Origin = typeof DEFAULT_ORIGIN | ConnectorOrigin;

export function isConnectorOrigin(value: string): value is ConnectorOrigin {
  return (CONNECTOR_ORIGINS as readonly string[]).includes(value);
}

export type GrantType = 'CLIENT_CREDENTIALS' | 'REFRESH_TOKEN';
export type AuthMechanism = 'HEADER' | 'BASIC_AUTH' | 'BODY';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** The non-secret half of an OAuth 2.0 credential. */
export interface OAuthSettings {
  /** `salesforce` when it came from a `salesforceOauth2` key: Salesforce's quirks apply. */
  readonly flavor: 'generic' | 'salesforce';
  readonly grantType: GrantType;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly scope: string | null;
  readonly authMechanism: AuthMechanism;
  readonly customParameters: readonly KeyValue[];
}

export interface SigningSecret {
  /** `whsec_` + base64 of the HMAC key, as Standard Webhooks writes it. */
  readonly secret: string;
  /** Old secrets stay valid until this time during a rotation; null for the current one. */
  readonly expiresAt: number | null;
}

/** Everything secret about an endpoint. Encrypted as one blob at rest; never in responses. */
export interface EndpointSecrets {
  readonly basicKey?: string;
  readonly clientSecret?: string;
  readonly refreshToken?: string;
  readonly signingSecrets?: readonly SigningSecret[];
  /**
   * When OAuth credentials were last submitted (even unchanged): a credential found dead stays
   * dead until someone submits credentials again.
   */
  readonly credentialsSetAt?: number;
}

export interface EndpointOptions {
  readonly timeoutMs: number;
  readonly maxConcurrency: number;
  /** Requests per second, or null for no limit. */
  readonly rateLimit: number | null;
  readonly ordering: Ordering;
  /** Waits before each retry in ms; null means the server's schedule. */
  readonly retrySchedule: readonly number[] | null;
}

export const DEFAULT_ENDPOINT_OPTIONS: EndpointOptions = {
  timeoutMs: 15_000,
  maxConcurrency: 32,
  rateLimit: null,
  ordering: 'none',
  retrySchedule: null,
};

export interface Endpoint {
  readonly id: EndpointId;
  readonly accountId: AccountId;
  readonly origin: Origin | null;
  readonly url: string;
  /** Subscribed event names (wire names). Empty means none; `*` means all. */
  readonly events: readonly string[];
  readonly description: string | null;
  readonly authType: AuthType;
  readonly authStatus: AuthStatus;
  readonly oauth: OAuthSettings | null;
  readonly secrets: EndpointSecrets;
  readonly customHeaders: readonly KeyValue[];
  readonly options: EndpointOptions;
  readonly state: EndpointState;
  readonly disabledReason: string | null;
  /** Start of the current run of failures, or null while the endpoint succeeds. */
  readonly failingSince: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Bumped by every change, so caches of the endpoint know when to reload. */
  readonly version: number;
}

export const ALL_EVENTS = '*';

export function subscribes(endpoint: Pick<Endpoint, 'events'>, name: string): boolean {
  return endpoint.events.includes(name) || endpoint.events.includes(ALL_EVENTS);
}

/** Whether new deliveries to this endpoint may be attempted now, or must wait as `held`. */
export function acceptsAttempts(endpoint: Pick<Endpoint, 'state' | 'authStatus'>): boolean {
  return endpoint.state === 'enabled' && endpoint.authStatus !== 'reauthorization_required';
}

// Custom headers: OneSpan's limits, and never a header Herald itself sets.
export const MAX_CUSTOM_HEADERS = 5;
export const MAX_HEADER_KEY = 50;
export const MAX_HEADER_VALUE = 100;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What an HTTP header value may hold: visible ASCII, Latin-1, spaces and tabs. */
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const RESERVED = new Set([
  'authorization',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'user-agent',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
]);

/** Returns a problem message for one custom header, or undefined when it is acceptable. */
export function customHeaderProblem(header: KeyValue): string | undefined {
  if (header.key.length === 0 || header.key.length > MAX_HEADER_KEY) {
    return `key must be 1 to ${MAX_HEADER_KEY} characters`;
  }
  if (!TOKEN.test(header.key)) return 'key must be a valid HTTP header name';
  const lower = header.key.toLowerCase();
  if (RESERVED.has(lower) || lower.startsWith('webhook-')) {
    return `key ${header.key} is set by Herald and cannot be overridden`;
  }
  if (header.value.length > MAX_HEADER_VALUE) {
    return `value must be at most ${MAX_HEADER_VALUE} characters`;
  }
  if (!HEADER_VALUE.test(header.value)) {
    return 'value must be printable ASCII or Latin-1, without line breaks or control characters';
  }
  return undefined;
}

/** The last four characters of a secret behind stars: enough to recognise, never to use. */
export function maskSecret(secret: string): string {
  return `****${secret.length > 8 ? secret.slice(-4) : ''}`;
}

export function isMasked(value: string): boolean {
  return /^\*{4}/.test(value);
}

/** The origin (scheme, host, port) a URL sends to: what a stored secret is bound to. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
