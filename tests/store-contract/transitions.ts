// The store contract, transitions part: every store operation that moves deliveries between
// statuses makes exactly the moves the domain's table allows (domain/transitions.ts), with the
// attempt counters it says. Each test seeds one delivery in every status, applies one operation
// to all of them, and compares each with what the table says. Registered by storeContract
// (contract.ts) on every adapter.

import { beforeEach, describe, expect, it } from 'vitest';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../src/domain/delivery.js';
import type { AccountId, DeliveryId } from '../../src/domain/ids.js';
import {
  afterResult,
  attemptsAfter,
  cycleAttemptsAfter,
  RESULT_EVENTS,
  transition,
  type DeliveryEvent,
  type ResultEvent,
} from '../../src/domain/transitions.js';
import type { DeliveryResult, EndpointRow, Store } from '../../src/store/port.js';
import {
  T0,
  aClaim,
  aResult,
  anAccount,
  anAttempt,
  anEndpoint,
  anIngestBatch,
  nextVersion,
  whileRefusingHeld,
} from '../helpers/store.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Whose lease the `delivering` delivery is under. */
const WORKER = 'worker-1';
/** Seeded counters: attempts ever, attempts in this cycle. */
const ATTEMPTS = 5;
const CYCLE = 3;
/** When each operation runs: after the seeding, before the worker's lease runs out. */
const NOW = T0 + 1000;

interface Observed {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly cycleAttempts: number;
}

interface Seeded {
  readonly accountId: AccountId;
  readonly endpoint: EndpointRow;
  /** One delivery in each status, all with ATTEMPTS and CYCLE as counters. */
  readonly ids: { readonly [S in DeliveryStatus]: DeliveryId };
}

/** What `event` does to a delivery as it was, by the table; as it was when it does nothing. */
function expected(before: Observed, event: DeliveryEvent): Observed {
  const t = transition(before.status, event);
  if (!t) return before;
  return {
    status: t.to,
    attempts: attemptsAfter(t, before.attempts),
    cycleAttempts: cycleAttemptsAfter(t, before.cycleAttempts),
  };
}

/** The result a worker writes for `event`, with the status and counters the domain gives. */
function resultFor(
  id: DeliveryId,
  before: Observed,
  event: ResultEvent,
  at: number,
): DeliveryResult {
  const t = afterResult(event);
  const attempts = attemptsAfter(t, before.attempts);
  const attempted = t.attempts === 'count';
  return aResult(id, WORKER, t.to, at, {
    nextAttemptAt: t.to === 'pending' ? at + MINUTE : null,
    attempts,
    cycleAttempts: cycleAttemptsAfter(t, before.cycleAttempts),
    lastStatusCode: attempted ? 503 : null,
    attempt: attempted
      ? anAttempt(id, attempts, at - 42, { statusCode: 503, outcome: 'http_error' })
      : null,
  });
}

export function transitionsContract(current: () => Store): void {
  const store = (): Store => current();

  /**
   * One delivery in each status to one enabled endpoint: driven there through claims and
   * results as workers would, the `delivering` one leased by WORKER until T0 + 1 minute, the
   * `pending` one due in an hour.
   */
  async function seed(): Promise<Seeded> {
    const account = anAccount();
    await store().insertAccount(account);
    const endpoint = anEndpoint(account.id);
    await store().insertEndpoint(endpoint);
    const built = anIngestBatch({
      accountId: account.id,
      endpoints: [endpoint.id],
      receivedAt: T0,
      count: DELIVERY_STATUSES.length,
    });
    expect(await store().ingest([built.batch])).toEqual([{ kind: 'inserted' }]);
    const ids = Object.fromEntries(DELIVERY_STATUSES.map((s, i) => [s, built.ids[i]!])) as {
      [S in DeliveryStatus]: DeliveryId;
    };
    const claimed = await store().claimDeliveries(aClaim(T0, 'seeder'));
    expect(claimed.map((c) => c.id).sort()).toEqual([...built.ids].sort());
    const counters = { attempts: ATTEMPTS, cycleAttempts: CYCLE };
    const due: { [S in DeliveryStatus]: [DeliveryResult['status'], number | null] } = {
      pending: ['pending', T0 + HOUR],
      delivering: ['pending', T0],
      succeeded: ['succeeded', null],
      failed: ['failed', null],
      held: ['held', null],
    };
    await whileRefusingHeld(store(), [endpoint.id], () =>
      store().recordResults(
        DELIVERY_STATUSES.map((s) =>
          aResult(ids[s], 'seeder', due[s][0], T0, { ...counters, nextAttemptAt: due[s][1] }),
        ),
      ),
    );
    const leased = await store().claimDeliveries(aClaim(T0, WORKER, { leaseUntil: T0 + MINUTE }));
    expect(leased.map((c) => c.id)).toEqual([ids.delivering]);
    const seeded = { accountId: account.id, endpoint, ids };
    expect(await observe(seeded)).toEqual(
      Object.fromEntries(DELIVERY_STATUSES.map((status) => [status, { status, ...counters }])),
    );
    return seeded;
  }

  /** Each seeded delivery as stored now, by the status it was seeded in. */
  async function observe(seeded: Seeded): Promise<{ [S in DeliveryStatus]: Observed }> {
    const out: Partial<Record<DeliveryStatus, Observed>> = {};
    for (const s of DELIVERY_STATUSES) {
      const d = await store().getDelivery(seeded.accountId, seeded.ids[s]);
      if (!d) throw new Error(`the ${s} delivery is gone`);
      out[s] = { status: d.status, attempts: d.attempts, cycleAttempts: d.cycleAttempts };
    }
    return out as { [S in DeliveryStatus]: Observed };
  }

  /** Applies `operation`, then checks every seeded delivery made the moves of `events`, in turn. */
  async function expectMoves(
    seeded: Seeded,
    events: readonly DeliveryEvent[],
    operation: () => Promise<unknown>,
  ): Promise<void> {
    const before = await observe(seeded);
    await operation();
    const want = Object.fromEntries(
      DELIVERY_STATUSES.map((s) => [s, events.reduce(expected, before[s])]),
    );
    expect(await observe(seeded)).toEqual(want);
  }

  describe('delivery transitions: exactly the moves domain/transitions.ts allows', () => {
    let seeded: Seeded;
    beforeEach(async () => {
      seeded = await seed();
    });

    it('claimDeliveries: claim', async () => {
      await expectMoves(seeded, ['claim'], () =>
        store().claimDeliveries(aClaim(T0 + HOUR, 'worker-2')),
      );
    });

    describe.each(RESULT_EVENTS)('recordResults, a %s result', (event) => {
      const results = async (): Promise<DeliveryResult[]> => {
        const before = await observe(seeded);
        // To every delivery: only the leased one is the worker's; the others' results are late.
        return DELIVERY_STATUSES.map((s) => resultFor(seeded.ids[s], before[s], event, NOW));
      };

      it('while the endpoint refuses work', async () => {
        const written = await results();
        await expectMoves(seeded, [event], () =>
          whileRefusingHeld(store(), [seeded.endpoint.id], () => store().recordResults(written)),
        );
      });

      it('while the endpoint accepts work: a hold written then is released at once', async () => {
        const written = await results();
        const held = afterResult(event).to === 'held';
        // A held result releases every hold it names while the endpoint accepts work, as the
        // stranded-hold sweep would.
        await expectMoves(seeded, held ? [event, 'release'] : [event], () =>
          store().recordResults(written),
        );
      });
    });

    it("releaseLeases: lease_release, of the owner's leases only", async () => {
      const all = DELIVERY_STATUSES.map((s) => seeded.ids[s]);
      await expectMoves(seeded, [], () => store().releaseLeases('worker-2', all, NOW));
      await expectMoves(seeded, ['lease_release'], () => store().releaseLeases(WORKER, all, NOW));
    });

    it('recoverLeases(now, false): lease_expiry, of expired leases only', async () => {
      await expectMoves(seeded, [], () => store().recoverLeases(NOW, false));
      await expectMoves(seeded, ['lease_expiry'], () =>
        store().recoverLeases(T0 + 2 * MINUTE, false),
      );
    });

    it('recoverLeases(now, true): lease_expiry, of every lease', async () => {
      await expectMoves(seeded, ['lease_expiry'], () => store().recoverLeases(NOW, true));
    });

    it('holdDeliveries: hold', async () => {
      await expectMoves(seeded, ['hold'], () => store().holdDeliveries(seeded.endpoint.id, NOW));
    });

    it('releaseHeldDeliveries: release', async () => {
      await expectMoves(seeded, ['release'], () =>
        store().releaseHeldDeliveries(seeded.endpoint.id, NOW),
      );
    });

    it('releaseStrandedHolds: release, only while the endpoint accepts work', async () => {
      const stored = (await store().getEndpoint(seeded.endpoint.id))!;
      const refusing = nextVersion(stored, NOW, { state: 'disabled' });
      expect(await store().updateEndpoint(refusing)).toBe(true);
      await expectMoves(seeded, [], () => store().releaseStrandedHolds(NOW));
      expect(await store().updateEndpoint(nextVersion(refusing, NOW, { state: 'enabled' }))).toBe(
        true,
      );
      await expectMoves(seeded, ['release'], () => store().releaseStrandedHolds(NOW));
    });

    it('redeliver: redeliver, each delivery asked for on its own', async () => {
      await expectMoves(seeded, ['redeliver'], async () => {
        for (const s of DELIVERY_STATUSES) {
          await store().redeliver(seeded.accountId, seeded.ids[s], NOW);
        }
      });
    });

    it('recover: recover', async () => {
      await expectMoves(seeded, ['recover'], () =>
        store().recover(seeded.endpoint.id, T0, T0 + 1, NOW),
      );
    });
  });
}
