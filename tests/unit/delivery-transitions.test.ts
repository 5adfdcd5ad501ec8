import { describe, expect, it } from 'vitest';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../src/domain/delivery.js';
import type { AuthStatus, EndpointState } from '../../src/domain/endpoint.js';
import {
  CLAIMABLE,
  DELIVERY_TRANSITIONS,
  HOLDABLE,
  LEASED,
  OUTSTANDING,
  RECOVERABLE,
  REDELIVERABLE,
  RELEASABLE,
  RESULT_EVENTS,
  afterEndpointChange,
  afterResult,
  attemptsAfter,
  cycleAttemptsAfter,
  statusAtCreation,
  transition,
  type DeliveryEvent,
  type ResultEvent,
} from '../../src/domain/transitions.js';

/** The counters every row starts from: 5 attempts ever, 3 in this cycle. */
const ATTEMPTS = 5;
const CYCLE = 3;

type After = readonly [status: DeliveryStatus, attempts: number, cycleAttempts: number];

/** Each event, from each status it moves: the status after, and the counters after (5, 3). */
const EXPECTED: { readonly [E in DeliveryEvent]: { readonly [S in DeliveryStatus]?: After } } = {
  claim: { pending: ['delivering', 5, 3] },
  success: { delivering: ['succeeded', 6, 4] },
  failure: { delivering: ['pending', 6, 4] },
  exhausted: { delivering: ['failed', 6, 4] },
  gone: { delivering: ['held', 6, 4] },
  refused: { delivering: ['held', 5, 3] },
  deferred: { delivering: ['pending', 5, 3] },
  lease_release: { delivering: ['pending', 5, 3] },
  lease_expiry: { delivering: ['pending', 5, 3] },
  hold: { pending: ['held', 5, 3] },
  release: { held: ['pending', 5, 3] },
  redeliver: {
    pending: ['pending', 5, 3],
    held: ['pending', 5, 0],
    failed: ['pending', 5, 0],
    succeeded: ['pending', 5, 0],
  },
  recover: { held: ['pending', 5, 0], failed: ['pending', 5, 0] },
};

const EVENTS = Object.keys(EXPECTED) as DeliveryEvent[];

/** Every (event, status) pair: the ones an event leaves alone are rows too. */
const ROWS = EVENTS.flatMap((event) =>
  DELIVERY_STATUSES.map((from) => [event, from, EXPECTED[event][from] ?? null] as const),
);

describe('the delivery state machine', () => {
  it('has a row for every event, no more', () => {
    expect(Object.keys(DELIVERY_TRANSITIONS).sort()).toEqual([...EVENTS].sort());
    expect(ROWS).toHaveLength(EVENTS.length * DELIVERY_STATUSES.length);
  });

  it.each(ROWS)('%s from %s -> %j', (event, from, expected) => {
    const t = transition(from, event);
    if (expected === null) {
      expect(t).toBeUndefined();
      return;
    }
    expect(t).toBeDefined();
    expect([t!.to, attemptsAfter(t!, ATTEMPTS), cycleAttemptsAfter(t!, CYCLE)]).toEqual(expected);
  });

  it.each(RESULT_EVENTS)(
    'a result (%s) moves only a leased delivery, as afterResult says',
    (event) => {
      expect(afterResult(event)).toBe(transition('delivering', event));
      const from = DELIVERY_STATUSES.filter((s) => transition(s, event) !== undefined);
      expect(from).toEqual(['delivering']);
      // A result never leaves a delivery leased.
      expect(afterResult(event).to).not.toBe('delivering');
    },
  );

  it('counts an attempt in both counters exactly when a result records one', () => {
    const attempted = RESULT_EVENTS.filter((e) => afterResult(e).attempts === 'count');
    expect(attempted).toEqual(['success', 'failure', 'exhausted', 'gone']);
    for (const e of RESULT_EVENTS) {
      expect(afterResult(e).cycleAttempts).toBe(afterResult(e).attempts);
    }
  });

  it('counts no attempt and never resets the count of all attempts outside results', () => {
    for (const event of EVENTS.filter((e) => !RESULT_EVENTS.includes(e as ResultEvent))) {
      for (const from of DELIVERY_STATUSES) {
        const t = transition(from, event);
        if (t) expect([event, from, t.attempts]).toEqual([event, from, 'keep']);
      }
    }
  });

  it('is shared: looking a transition up gives the same frozen object each time', () => {
    for (const [event, from] of ROWS) {
      const t = transition(from, event);
      expect(transition(from, event)).toBe(t);
      if (t) expect(Object.isFrozen(t)).toBe(true);
    }
  });
});

describe("the statuses each store operation moves from (the adapters' WHERE clauses)", () => {
  const movedBy = (event: DeliveryEvent): DeliveryStatus[] =>
    DELIVERY_STATUSES.filter((s) => transition(s, event) !== undefined);
  const sorted = (list: readonly DeliveryStatus[]): DeliveryStatus[] => [...list].sort();

  const operations: ReadonlyArray<
    readonly [operation: string, event: DeliveryEvent, statuses: readonly DeliveryStatus[]]
  > = [
    ['claimDeliveries', 'claim', CLAIMABLE],
    ...RESULT_EVENTS.map((e) => ['recordResults', e, LEASED] as const),
    ['releaseLeases', 'lease_release', LEASED],
    ['recoverLeases', 'lease_expiry', LEASED],
    ['holdDeliveries', 'hold', HOLDABLE],
    ['releaseHeldDeliveries, releaseStrandedHolds', 'release', RELEASABLE],
    ['redeliver', 'redeliver', REDELIVERABLE],
    ['recover', 'recover', RECOVERABLE],
  ];

  it.each(operations)('%s: %s moves from %j', (_operation, event, statuses) => {
    expect(sorted(movedBy(event))).toEqual(sorted(statuses));
  });

  it('outstanding: every status but the two that end a cycle', () => {
    expect(sorted(OUTSTANDING)).toEqual(
      sorted(DELIVERY_STATUSES.filter((s) => s !== 'succeeded' && s !== 'failed')),
    );
  });
});

describe('what an endpoint refusing or accepting work does to its deliveries', () => {
  it.each([
    ['enabled', 'ok', 'release', 'pending'],
    ['enabled', 'unverified', 'release', 'pending'],
    ['enabled', 'reauthorization_required', 'hold', 'held'],
    ['disabled', 'ok', 'hold', 'held'],
    ['disabled', 'unverified', 'hold', 'held'],
    ['disabled', 'reauthorization_required', 'hold', 'held'],
  ] as const)(
    'an endpoint %s with credentials %s: its waiting deliveries %s, new ones start %s',
    (state: EndpointState, authStatus: AuthStatus, move, created) => {
      expect(afterEndpointChange({ state, authStatus })).toBe(move);
      expect(statusAtCreation({ state, authStatus })).toBe(created);
    },
  );
});
