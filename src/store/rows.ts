// Row <-> record mapping shared by the store adapters. Column names are the same in every
// dialect; the helpers accept each driver's representation (SQLite text and integers,
// PostgreSQL jsonb and booleans).

import type { DeliveryStatus } from '../domain/delivery.js';
import type { AuthStatus, EndpointState, Origin } from '../domain/endpoint.js';
import {
  idTimeBound,
  type AccountId,
  type ApiKeyId,
  type DeliveryId,
  type EndpointId,
  type EventId,
} from '../domain/ids.js';
import type {
  AccountRecord,
  AlertEmailRecord,
  ApiKeyRecord,
  AttemptRecord,
  ActivityOutcome,
  ClaimedDelivery,
  DeliveryActivity,
  DeliveryRecord,
  EndpointActivity,
  EventFilter,
  EndpointRow,
  EventRecord,
  OperationalEventRecord,
  QueueStats,
  TokenRecord,
  WorkItem,
} from './port.js';

export type Row = Record<string, unknown>;

export const str = (v: unknown): string => v as string;
export const num = (v: unknown): number => v as number;
export const strOrNull = (v: unknown): string | null => (v === null ? null : (v as string));
export const numOrNull = (v: unknown): number | null => (v === null ? null : (v as number));
/** JSON columns: text in SQLite, already parsed (jsonb) in PostgreSQL. */
export const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));
/** Booleans: 0/1 in SQLite, true/false in PostgreSQL. */
export const bool = (v: unknown): boolean => v === true || v === 1;

export function toEndpoint(r: Row): EndpointRow {
  return {
    id: str(r.id) as EndpointId,
    accountId: str(r.account_id) as AccountId,
    origin: strOrNull(r.origin) as Origin | null,
    url: str(r.url),
    events: json<string[]>(r.events),
    description: strOrNull(r.description),
    authType: str(r.auth_type) as EndpointRow['authType'],
    authStatus: str(r.auth_status) as AuthStatus,
    oauth: r.oauth === null ? null : json<EndpointRow['oauth']>(r.oauth),
    secretsCiphertext: strOrNull(r.secrets),
    customHeaders: json<EndpointRow['customHeaders']>(r.custom_headers),
    options: json<EndpointRow['options']>(r.options),
    state: str(r.state) as EndpointState,
    disabledReason: strOrNull(r.disabled_reason),
    failingSince: numOrNull(r.failing_since),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    version: num(r.version),
  };
}

export function endpointParams(e: EndpointRow): unknown[] {
  return [
    e.accountId,
    e.origin,
    e.url,
    JSON.stringify(e.events),
    e.description,
    e.authType,
    e.authStatus,
    e.oauth === null ? null : JSON.stringify(e.oauth),
    e.secretsCiphertext,
    JSON.stringify(e.customHeaders),
    JSON.stringify(e.options),
    e.state,
    e.disabledReason,
    e.failingSince,
    e.createdAt,
    e.updatedAt,
    e.version,
    e.id,
  ];
}

export function toDelivery(r: Row): DeliveryRecord {
  return {
    id: str(r.id) as DeliveryId,
    eventId: str(r.event_id) as EventId,
    endpointId: str(r.endpoint_id) as EndpointId,
    accountId: str(r.account_id) as AccountId,
    eventName: str(r.event_name),
    status: str(r.status) as DeliveryStatus,
    attempts: num(r.attempts),
    cycleAttempts: num(r.cycle_attempts),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    lastStatusCode: numOrNull(r.last_status_code),
    lastError: strOrNull(r.last_error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toEvent(r: Row): EventRecord {
  return {
    id: str(r.id) as EventId,
    accountId: str(r.account_id) as AccountId,
    name: str(r.name),
    packageId: str(r.package_id),
    payload: str(r.payload),
    receivedAt: num(r.received_at),
  };
}

export function toAttempt(r: Row): AttemptRecord {
  return {
    id: str(r.id) as AttemptRecord['id'],
    deliveryId: str(r.delivery_id) as DeliveryId,
    number: num(r.number),
    trigger: str(r.trigger) as AttemptRecord['trigger'],
    startedAt: num(r.started_at),
    durationMs: num(r.duration_ms),
    statusCode: numOrNull(r.status_code),
    outcome: str(r.outcome),
    error: strOrNull(r.error),
    responseBody: strOrNull(r.response_body),
  };
}

export function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: str(r.id) as ApiKeyId,
    accountId: str(r.account_id) as AccountId,
    name: str(r.name),
    hash: str(r.hash),
    prefix: str(r.prefix),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

export function toAccount(r: Row): AccountRecord {
  return {
    id: str(r.id) as AccountId,
    name: str(r.name),
    contactEmail: strOrNull(r.contact_email),
    createdAt: num(r.created_at),
  };
}

/** A claimed delivery from a claim query's row (with `payload` and the endpoint's `version`). */
export function toClaimed(r: Row): ClaimedDelivery {
  return {
    id: str(r.id) as DeliveryId,
    eventId: str(r.event_id) as EventId,
    endpointId: str(r.endpoint_id) as EndpointId,
    accountId: str(r.account_id) as AccountId,
    payload: str(r.payload),
    attempts: num(r.attempts),
    cycleAttempts: num(r.cycle_attempts),
    endpointVersion: num(r.version),
    manual: bool(r.manual),
    traceParent: strOrNull(r.trace_parent),
  };
}

export function toToken(r: Row): TokenRecord {
  return {
    endpointId: str(r.endpoint_id) as EndpointId,
    credentialKey: str(r.credential_key),
    generation: num(r.generation),
    accessTokenCiphertext: strOrNull(r.access_token),
    refreshTokenCiphertext: strOrNull(r.refresh_token),
    expiresAt: numOrNull(r.expires_at),
    refreshAt: numOrNull(r.refresh_at),
    instanceUrl: strOrNull(r.instance_url),
    deadReason: strOrNull(r.dead_reason),
    deadKey: strOrNull(r.dead_key),
    updatedAt: num(r.updated_at),
  };
}

export function toOperationalEvent(r: Row): OperationalEventRecord {
  return {
    id: str(r.id) as OperationalEventRecord['id'],
    accountId: str(r.account_id) as AccountId,
    type: str(r.type) as OperationalEventRecord['type'],
    endpointId: strOrNull(r.endpoint_id) as EndpointId | null,
    deliveryId: strOrNull(r.delivery_id) as DeliveryId | null,
    data: json<Record<string, unknown>>(r.data),
    createdAt: num(r.created_at),
  };
}

export function toAlertEmail(r: Row): AlertEmailRecord {
  return {
    seq: num(r.seq),
    accountId: str(r.account_id) as AccountId,
    endpointId: str(r.endpoint_id) as EndpointId,
    type: str(r.type) as AlertEmailRecord['type'],
    endpointUrl: str(r.endpoint_url),
    endpointDescription: strOrNull(r.endpoint_description),
    count: num(r.count),
    data: json<Record<string, unknown>>(r.data),
    firstAt: num(r.first_at),
    lastAt: num(r.last_at),
    dueAt: num(r.due_at),
    attempts: num(r.attempts),
    lastError: strOrNull(r.last_error),
  };
}

/** The one-row answer of a queue-stats query (columns pending, due, delivering, held, failed, oldest). */
export function toQueueStats(r: Row): QueueStats {
  return {
    pending: num(r.pending),
    due: num(r.due),
    delivering: num(r.delivering),
    held: num(r.held),
    failed: num(r.failed),
    oldestDueAt: numOrNull(r.oldest),
  };
}

export const TOKEN_COLUMNS =
  'endpoint_id, credential_key, generation, access_token, refresh_token, expires_at, refresh_at, ' +
  'instance_url, dead_reason, dead_key, updated_at';

/** How many values tokenParams gives (the columns of TOKEN_COLUMNS). */
export const TOKEN_PARAMS = TOKEN_COLUMNS.split(', ').length;

export function tokenParams(t: TokenRecord): unknown[] {
  return [
    t.endpointId,
    t.credentialKey,
    t.generation,
    t.accessTokenCiphertext,
    t.refreshTokenCiphertext,
    t.expiresAt,
    t.refreshAt,
    t.instanceUrl,
    t.deadReason,
    t.deadKey,
    t.updatedAt,
  ];
}

export const ENDPOINT_COLUMNS =
  'account_id, origin, url, events, description, auth_type, auth_status, oauth, secrets, ' +
  'custom_headers, options, state, disabled_reason, failing_since, created_at, updated_at, version, id';

/** The ids of endpoints that accept deliveries: enabled, with credentials not known dead. */
export const ACCEPTING_ENDPOINTS = `SELECT id FROM endpoints
  WHERE state = 'enabled' AND auth_status <> 'reauthorization_required'`;

/**
 * The WHERE conditions of an event search, with `placeholder(n)` writing the dialect's n-th
 * parameter. Times become id ranges too (ids sort by time), so the search reads an index range:
 * the primary key, or (account, package id) or (account, name) when those are given.
 */
export function eventConditions(
  filter: EventFilter,
  cursor: string | null,
  placeholder: (index: number) => string,
  /** How the account column is named: SQLite writes `+account_id` to keep to the id order. */
  accountColumn = 'account_id',
): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, value: unknown): void => {
    params.push(value);
    where.push(`${condition} ${placeholder(params.length)}`);
  };
  add(`${accountColumn} =`, filter.accountId);
  if (filter.packageId !== undefined) add('package_id =', filter.packageId);
  if (filter.name !== undefined) add('name =', filter.name);
  if (filter.since !== undefined) {
    add('id >=', idTimeBound('event', filter.since));
    add('received_at >=', filter.since);
  }
  if (filter.until !== undefined) {
    add('id <', idTimeBound('event', filter.until));
    add('received_at <', filter.until);
  }
  if (cursor !== null) add('id <', cursor);
  return { where, params };
}

/** Minute rows (one per minute, a column per outcome) as counts, and latency bucket sums. */
export function toActivity(minutes: readonly Row[], latency: readonly Row[]): DeliveryActivity {
  const counts: Array<{ minute: number; outcome: ActivityOutcome; count: number }> = [];
  for (const r of minutes) {
    for (const outcome of ['failed', 'retried', 'succeeded'] as const) {
      const count = Number(r[outcome]);
      if (count > 0) counts.push({ minute: Number(r.minute), outcome, count });
    }
  }
  return {
    minutes: counts,
    latency: latency.map((r) => ({ bucket: Number(r.bucket), count: Number(r.n) })),
  };
}

export function toEndpointActivity(r: Row, lastError: string | null): EndpointActivity {
  return {
    endpointId: str(r.endpoint_id) as EndpointId,
    succeeded: Number(r.succeeded),
    retried: Number(r.retried),
    failed: Number(r.failed),
    lastError,
    lastErrorAt: r.last_error_at === null ? null : Number(r.last_error_at),
  };
}

/**
 * The values of an exported delivery as it is imported (herald copy-store), in the column order
 * id, event_id, endpoint_id, account_id, event_name, status, attempts, cycle_attempts,
 * next_attempt_at, ordering_key, last_status_code, last_error, created_at, updated_at: a delivery
 * that was leased comes in as pending, due at once.
 */
export function importedDeliveryParams(d: WorkItem['deliveries'][number]): unknown[] {
  const status = d.status === 'delivering' ? 'pending' : d.status;
  return [
    d.id,
    d.eventId,
    d.endpointId,
    d.accountId,
    d.eventName,
    status,
    d.attempts,
    d.cycleAttempts,
    status === 'pending' ? (d.nextAttemptAt ?? d.updatedAt) : d.nextAttemptAt,
    d.orderingKey,
    d.lastStatusCode,
    d.lastError,
    d.createdAt,
    d.updatedAt,
  ];
}
