// Builders for store records, with sensible defaults, for tests that talk to a `Store`.
// Every builder takes explicit times so that tests stay deterministic; ids come from `newId`
// with the same time, so they sort the way the records were created.

import { randomBytes } from 'node:crypto';
import { DEFAULT_ENDPOINT_OPTIONS } from '../../src/domain/endpoint.js';
import { newId } from '../../src/domain/ids.js';
import type { AccountId, DeliveryId, EndpointId } from '../../src/domain/ids.js';
import type {
  AccountRecord,
  ApiKeyRecord,
  AttemptRecord,
  ClaimQuery,
  DeliveryResult,
  EndpointRow,
  EventRecord,
  IngestBatch,
  NewDelivery,
  NewEvent,
  OperationalEventRecord,
  Store,
} from '../../src/store/port.js';

/** A fixed point in time (2025-06-15T00:00:00Z) that tests count from. */
export const T0 = Date.UTC(2025, 5, 15);

export function anAccount(now: number = T0, overrides: Partial<AccountRecord> = {}): AccountRecord {
  return {
    id: newId('account', now),
    name: 'Acme',
    contactEmail: 'ops@acme.test',
    createdAt: now,
    ...overrides,
  };
}

export function anApiKey(
  accountId: AccountId,
  now: number = T0,
  overrides: Partial<ApiKeyRecord> = {},
): ApiKeyRecord {
  const hash = randomBytes(32).toString('hex');
  return {
    id: newId('apiKey', now),
    accountId,
    name: 'default',
    hash,
    prefix: `hk_${hash.slice(0, 6)}`,
    createdAt: now,
    revokedAt: null,
    ...overrides,
  };
}

export function anEndpoint(
  accountId: AccountId,
  now: number = T0,
  overrides: Partial<EndpointRow> = {},
): EndpointRow {
  return {
    id: newId('endpoint', now),
    accountId,
    origin: null,
    url: 'https://listener.example.com/hook',
    events: ['*'],
    description: null,
    authType: 'NONE',
    authStatus: 'ok',
    oauth: null,
    secretsCiphertext: null,
    customHeaders: [],
    options: { ...DEFAULT_ENDPOINT_OPTIONS },
    state: 'enabled',
    disabledReason: null,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...overrides,
  };
}

/** The same endpoint row at its next version, as an update would write it. */
export function nextVersion(
  row: EndpointRow,
  now: number,
  changes: Partial<EndpointRow> = {},
): EndpointRow {
  return { ...row, ...changes, updatedAt: now, version: row.version + 1 };
}

export interface BatchSpec {
  readonly accountId: AccountId;
  /** Every event of the batch is fanned out to each of these endpoints. */
  readonly endpoints: readonly EndpointId[];
  readonly receivedAt: number;
  /** Number of events in the batch (default 1). */
  readonly count?: number;
  readonly name?: string;
  /** Package id of every event (default: one per event). */
  readonly packageId?: string;
  readonly status?: 'pending' | 'held';
  /** Ordering key of every delivery; `'package'` uses the event's package id (default null). */
  readonly orderingKey?: string | null;
  readonly idempotency?: { readonly key: string; readonly requestHash: string } | null;
  readonly response?: string;
  /** Every delivery handed over to this worker lease (inserted as `delivering`; default none). */
  readonly lease?: { readonly owner: string; readonly until: number };
}

export interface BuiltBatch {
  readonly batch: IngestBatch;
  readonly events: readonly EventRecord[];
  /** Deliveries in creation order, each with its event. */
  readonly deliveries: ReadonlyArray<NewDelivery & { readonly event: EventRecord }>;
  /** Delivery ids in creation order. */
  readonly ids: readonly DeliveryId[];
}

/** A publish request: `count` events, each fanned out to `endpoints`. */
export function anIngestBatch(spec: BatchSpec): BuiltBatch {
  const name = spec.name ?? 'PACKAGE_COMPLETE';
  const events: NewEvent[] = [];
  for (let i = 0; i < (spec.count ?? 1); i++) {
    const id = newId('event', spec.receivedAt);
    const packageId = spec.packageId ?? `pkg-${id.slice(-8)}`;
    const event: EventRecord = {
      id,
      accountId: spec.accountId,
      name,
      packageId,
      payload: JSON.stringify({ name, sessionUser: 'user-1', packageId, message: null }),
      receivedAt: spec.receivedAt,
    };
    const orderingKey =
      spec.orderingKey === 'package'
        ? packageId
        : spec.orderingKey === undefined
          ? null
          : spec.orderingKey;
    events.push({
      event,
      deliveries: spec.endpoints.map((endpointId): NewDelivery => ({
        id: newId('delivery', spec.receivedAt),
        endpointId,
        status: spec.status ?? 'pending',
        orderingKey,
        ...(spec.lease ? { lease: spec.lease } : {}),
      })),
    });
  }
  const batch: IngestBatch = {
    accountId: spec.accountId,
    idempotency: spec.idempotency ?? null,
    events,
    response: spec.response ?? JSON.stringify({ ids: events.map((e) => e.event.id) }),
  };
  const deliveries = events.flatMap((e) => e.deliveries.map((d) => ({ ...d, event: e.event })));
  return {
    batch,
    events: events.map((e) => e.event),
    deliveries,
    ids: deliveries.map((d) => d.id),
  };
}

export function anAttempt(
  deliveryId: DeliveryId,
  number: number,
  startedAt: number,
  overrides: Partial<AttemptRecord> = {},
): AttemptRecord {
  return {
    id: newId('attempt', startedAt),
    deliveryId,
    number,
    trigger: 'scheduled',
    startedAt,
    durationMs: 42,
    statusCode: 200,
    outcome: 'success',
    error: null,
    responseBody: 'ok',
    ...overrides,
  };
}

/** The result of one attempt at a claimed delivery, with its attempt log entry. */
export function aResult(
  deliveryId: DeliveryId,
  owner: string,
  status: DeliveryResult['status'],
  at: number,
  overrides: Partial<DeliveryResult> = {},
): DeliveryResult {
  const attempts = overrides.attempts ?? 1;
  const failed = status !== 'succeeded';
  return {
    deliveryId,
    owner,
    status,
    nextAttemptAt: status === 'pending' ? at + 60_000 : null,
    attempts,
    cycleAttempts: attempts,
    lastStatusCode: failed ? 503 : 200,
    lastError: failed ? 'HTTP 503' : null,
    updatedAt: at,
    attempt: anAttempt(deliveryId, attempts, at - 42, {
      statusCode: failed ? 503 : 200,
      outcome: failed ? 'http_error' : 'success',
      error: failed ? 'HTTP 503' : null,
    }),
    raised: null,
    ...overrides,
  };
}

/** A claim of everything due at `now` (up to `limit`), leased for a minute. */
export function aClaim(
  now: number,
  owner = 'worker-1',
  overrides: Partial<ClaimQuery> = {},
): ClaimQuery {
  return { now, limit: 100, owner, leaseUntil: now + 60_000, skipEndpoints: [], ...overrides };
}

export function anOperationalEvent(
  accountId: AccountId,
  createdAt: number,
  overrides: Partial<OperationalEventRecord> = {},
): OperationalEventRecord {
  return {
    id: newId('operational', createdAt),
    accountId,
    type: 'endpoint.disabled',
    endpointId: null,
    deliveryId: null,
    data: { reason: 'too many failures', count: 3, nested: { ok: false, list: [1, 2] } },
    createdAt,
    ...overrides,
  };
}

/**
 * Drives the given deliveries (all due at `at`) to a final or waiting status through a claim
 * and a result, as a worker would; anything else claimed on the way is released untouched.
 */
/**
 * Runs `write` (results that hold deliveries) with the endpoints disabled, then enables them
 * again. A worker holds a delivery only while its endpoint refuses work, and a hold written when
 * the endpoint accepts work is released at once; this leaves the holds behind, as a late result
 * does.
 */
export async function whileRefusingHeld(
  store: Store,
  endpointIds: readonly EndpointId[],
  write: () => Promise<void>,
): Promise<void> {
  const rows = await Promise.all(
    [...new Set(endpointIds)].map(async (id) => (await store.getEndpoint(id))!),
  );
  for (const row of rows) {
    if (!(await store.updateEndpoint({ ...row, state: 'disabled', version: row.version + 1 })))
      throw new Error(`could not disable ${row.id}`);
  }
  await write();
  for (const row of rows) {
    if (!(await store.updateEndpoint({ ...row, version: row.version + 2 })))
      throw new Error(`could not enable ${row.id}`);
  }
}

export async function settleDeliveries(
  store: Store,
  ids: readonly DeliveryId[],
  status: DeliveryResult['status'],
  at: number,
  overrides: Partial<DeliveryResult> = {},
): Promise<void> {
  const claimed = await store.claimDeliveries(aClaim(at, 'settler', { limit: 10_000 }));
  const wanted = new Set<string>(ids);
  const missing = ids.filter((id) => !claimed.some((c) => c.id === id));
  if (missing.length > 0) throw new Error(`not claimable at ${at}: ${missing.join(', ')}`);
  const chosen = claimed.filter((c) => wanted.has(c.id));
  await whileRefusingHeld(store, status === 'held' ? chosen.map((c) => c.endpointId) : [], () =>
    store.recordResults(chosen.map((c) => aResult(c.id, 'settler', status, at, overrides))),
  );
  await store.releaseLeases(
    'settler',
    claimed.filter((c) => !wanted.has(c.id)).map((c) => c.id),
    at,
  );
}
