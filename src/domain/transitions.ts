// The delivery state machine: what each thing that happens to a delivery does to its status and
// its attempt counters. This module owns it; the dispatcher, the services and the stores' SQL
// apply only the moves the table below allows (the store contract holds each adapter to it).
//
//                  claim                 success
//    ┌─────────┐ ──────▶ ┌────────────┐ ──────▶ ┌───────────┐
//    │ pending │         │ delivering │         │ succeeded │
//    └─────────┘ ◀────── └────────────┘         └───────────┘
//      ▲  │ ▲  failure, deferred,  │ │ │ exhausted        │
//      │  │ │  lease release/expiry│ │ └──────────▶ ┌────────┐
//      │  │ └──────────────────────┘ │              │ failed │
//      │  │ hold: endpoint disabled, │ gone (410),   └────────┘
//      │  ▼ credentials dead         ▼ refused            │
//      │ ┌──────┐ ◀──────────────────┘                    │
//      └─│ held │   release: endpoint accepts work again   │
//        └──────┘   (enabled, new credentials)             │
//      ▲──────────────── redeliver / recover ─────────────┘ (succeeded too, on redeliver)
//
// `held` is never attempted and never exhausts: it waits for a person to fix the endpoint.
// Redeliver and recover start a new retry cycle: the cycle's count of attempts starts again at
// 0, the count of every attempt ever made is kept.

import { acceptsAttempts, type Endpoint } from './endpoint.js';
import type { DeliveryStatus } from './delivery.js';

/**
 * What a worker's result for a delivery it leased says happened:
 * - `success`: the listener answered 2xx;
 * - `failure`: the attempt failed and the cycle has tries left (also a 410 from a URL the
 *   endpoint has moved away from since: due again at once, at the new URL);
 * - `exhausted`: the attempt failed and the cycle has no tries left;
 * - `gone`: the listener answered 410 Gone and the endpoint was disabled for it;
 * - `refused`: not attempted, the endpoint is disabled or its credentials are dead;
 * - `deferred`: not attempted, nothing sent, no attempt spent: the token endpoint is down or
 *   busy, the store was unavailable, new credentials replaced dead ones meanwhile, an internal
 *   error.
 */
export const RESULT_EVENTS = [
  'success',
  'failure',
  'exhausted',
  'gone',
  'refused',
  'deferred',
] as const;
export type ResultEvent = (typeof RESULT_EVENTS)[number];

/** Everything that moves a delivery from one status to another. */
export type DeliveryEvent =
  /** A worker leases a due delivery. */
  | 'claim'
  | ResultEvent
  /** A worker gives back a delivery it leased and did not start (shutting down). */
  | 'lease_release'
  /** A lease ran out (its worker died), or a single process starts and takes back every lease. */
  | 'lease_expiry'
  /** The endpoint stopped accepting work (disabled, credentials dead). */
  | 'hold'
  /** The endpoint accepts work again (enabled, new credentials). */
  | 'release'
  /** A person asks for one delivery again (`POST .../retry`). */
  | 'redeliver'
  /** A person asks for an endpoint's failed and held deliveries of a time range again. */
  | 'recover';

/** What a transition does to a counter: +1 (an attempt was made), 0 (a new cycle), or nothing. */
export type CounterChange = 'count' | 'reset' | 'keep';

export interface Transition<To extends DeliveryStatus = DeliveryStatus> {
  readonly to: To;
  /** Attempts ever made: counted by each attempt, never reset. */
  readonly attempts: 'count' | 'keep';
  /** Attempts in the current retry cycle: counted by each attempt, reset by a new cycle. */
  readonly cycleAttempts: CounterChange;
}

// One frozen object per row, shared: looking a transition up allocates nothing.
const row = <To extends DeliveryStatus>(
  to: To,
  attempts: 'count' | 'keep',
  cycleAttempts: CounterChange,
): Transition<To> => Object.freeze({ to, attempts, cycleAttempts });

const ATTEMPTED_PENDING = row('pending', 'count', 'count');
const UNATTEMPTED_PENDING = row('pending', 'keep', 'keep');
const NEW_CYCLE = row('pending', 'keep', 'reset');

/** The result of a leased (`delivering`) delivery, by what happened. */
const RESULTS: { readonly [E in ResultEvent]: Transition<ResultStatus> } = {
  success: row('succeeded', 'count', 'count'),
  failure: ATTEMPTED_PENDING,
  exhausted: row('failed', 'count', 'count'),
  gone: row('held', 'count', 'count'),
  refused: row('held', 'keep', 'keep'),
  deferred: UNATTEMPTED_PENDING,
};

/** The statuses a result may set (a result is never `delivering`). */
export type ResultStatus = Exclude<DeliveryStatus, 'delivering'>;

/**
 * The state machine: for each event, the statuses it moves a delivery from and what it does.
 * A status missing from an event's row is one that event leaves untouched.
 */
export const DELIVERY_TRANSITIONS: {
  readonly [E in DeliveryEvent]: { readonly [S in DeliveryStatus]?: Transition };
} = {
  claim: { pending: row('delivering', 'keep', 'keep') },
  success: { delivering: RESULTS.success },
  failure: { delivering: RESULTS.failure },
  exhausted: { delivering: RESULTS.exhausted },
  gone: { delivering: RESULTS.gone },
  refused: { delivering: RESULTS.refused },
  deferred: { delivering: RESULTS.deferred },
  lease_release: { delivering: UNATTEMPTED_PENDING },
  lease_expiry: { delivering: UNATTEMPTED_PENDING },
  hold: { pending: row('held', 'keep', 'keep') },
  release: { held: UNATTEMPTED_PENDING },
  // Asked of a pending delivery, it is only made due now: its cycle goes on.
  redeliver: {
    pending: UNATTEMPTED_PENDING,
    held: NEW_CYCLE,
    failed: NEW_CYCLE,
    succeeded: NEW_CYCLE,
  },
  recover: { held: NEW_CYCLE, failed: NEW_CYCLE },
};

/** What `event` does to a delivery in status `from`; undefined when it leaves it as it is. */
export function transition(from: DeliveryStatus, event: DeliveryEvent): Transition | undefined {
  return DELIVERY_TRANSITIONS[event][from];
}

/** What a worker's result does to the leased delivery (the hot path: a lookup, no allocation). */
export function afterResult(event: ResultEvent): Transition<ResultStatus> {
  return RESULTS[event];
}

export function attemptsAfter(t: Transition, attempts: number): number {
  return t.attempts === 'count' ? attempts + 1 : attempts;
}

export function cycleAttemptsAfter(t: Transition, cycleAttempts: number): number {
  switch (t.cycleAttempts) {
    case 'count':
      return cycleAttempts + 1;
    case 'reset':
      return 0;
    case 'keep':
      return cycleAttempts;
  }
}

/** The status a new delivery starts in: held while its endpoint refuses work. */
export function statusAtCreation(
  endpoint: Pick<Endpoint, 'state' | 'authStatus'>,
): 'pending' | 'held' {
  return acceptsAttempts(endpoint) ? 'pending' : 'held';
}

/** Holds or releases: what a change of the endpoint does to its deliveries that wait. */
export function afterEndpointChange(
  endpoint: Pick<Endpoint, 'state' | 'authStatus'>,
): 'hold' | 'release' {
  return acceptsAttempts(endpoint) ? 'release' : 'hold';
}

// The statuses each store operation moves deliveries from (the adapters' WHERE clauses). Each
// is the set of statuses with a row for its event above; a unit test keeps them in step.

/** claimDeliveries (when due). */
export const CLAIMABLE = ['pending'] as const satisfies readonly DeliveryStatus[];
/** recordResults, releaseLeases, recoverLeases, renewLeases: only a delivery still leased. */
export const LEASED = ['delivering'] as const satisfies readonly DeliveryStatus[];
/** holdDeliveries. */
export const HOLDABLE = ['pending'] as const satisfies readonly DeliveryStatus[];
/** releaseHeldDeliveries, releaseStrandedHolds, and recordResults' release of a late hold. */
export const RELEASABLE = ['held'] as const satisfies readonly DeliveryStatus[];
/** redeliver. */
export const REDELIVERABLE = [
  'pending',
  'held',
  'failed',
  'succeeded',
] as const satisfies readonly DeliveryStatus[];
/** recover; also what waits for a person (held or failed). */
export const RECOVERABLE = ['held', 'failed'] as const satisfies readonly DeliveryStatus[];
/**
 * Not finished: a delivery in one of these blocks the later deliveries of its package to its
 * endpoint (ordering `package`), and retention never deletes it.
 */
export const OUTSTANDING = [
  'pending',
  'delivering',
  'held',
] as const satisfies readonly DeliveryStatus[];
