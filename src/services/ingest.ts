// Event ingest: validate, fan out to the account's subscribed endpoints, and commit durably
// before answering. Each publish is handed to the store at once; the store group-commits
// concurrent ones (one transaction, one fsync, for many requests).

import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';
import { subscribes, type Endpoint } from '../domain/endpoint.js';
import { MAX_BATCH, normaliseEvent, type NormalisedEvent } from '../domain/events.js';
import { newId, type AccountId } from '../domain/ids.js';
import { statusAtCreation } from '../domain/transitions.js';
import type { Metrics } from '../observability/metrics.js';
import { NO_TRACING, type Span, type Tracer } from '../observability/tracing.js';
import type {
  ClaimedDelivery,
  EndpointStore,
  IngestBatch,
  IngestOutcome,
  IngestStore,
  NewDelivery,
  NewEvent,
} from '../store/port.js';
import type { EndpointRepository } from './endpoint-repo.js';
import { ExpiringCache } from './expiring-cache.js';
import type { WorkSignal } from '../queue/work-signal.js';
import type { Handover, HandoverTaker } from '../queue/handover.js';

export interface PublishResult {
  /** `{"id"}` for one event, `{"ids"}` for a batch; the same body on an idempotent replay. */
  readonly body: string;
  readonly replayed: boolean;
}

interface BatchCounts {
  readonly events: number;
  readonly created: number;
  readonly held: number;
  /** Pending deliveries left in the store for a claim (not handed over). */
  readonly queued: number;
}

/** The deliveries of one publish handed to this process's worker (given to it once committed). */
interface HandedOver {
  readonly taker: HandoverTaker;
  readonly deliveries: ClaimedDelivery[];
  /** When they, and the pending deliveries left for a claim, are due: the publish's time. */
  readonly due: number;
}

type Route = Pick<Endpoint, 'id' | 'events' | 'state' | 'authStatus' | 'options' | 'version'>;

const ROUTES_TTL_MS = 1000;
const MAX_IDEMPOTENCY_KEY = 255;

export class IngestService {
  private readonly routes: ExpiringCache<AccountId, Route[]>;

  constructor(
    private readonly store: IngestStore & EndpointStore,
    repo: EndpointRepository,
    private readonly clock: () => number,
    private readonly signal: WorkSignal,
    private readonly metrics: Metrics,
    private readonly tracer: Tracer = NO_TRACING,
    /** Where new deliveries go straight to this process's worker (none: all are claimed). */
    private readonly handover: Handover | null = null,
  ) {
    // Endpoint changes made in this process take effect on the next event at once; changes made
    // by other processes (PostgreSQL deployments) within ROUTES_TTL_MS.
    this.routes = new ExpiringCache(ROUTES_TTL_MS, clock);
    repo.onChange((accountId) => this.routes.forget(accountId));
  }

  /**
   * Publishes one event (a JSON object) or a batch (a JSON array). `rawBody` is what the client
   * sent, for idempotency: the same key with a different body is a conflict. `trace`: the publish
   * request's span (tracing on): the commit is its child, and the events keep its traceparent.
   */
  async publish(
    accountId: AccountId,
    input: unknown,
    rawBody: string,
    idempotencyKey: string | undefined,
    trace: Span | null = null,
  ): Promise<PublishResult> {
    const now = this.clock();
    const isBatch = Array.isArray(input);
    const items: unknown[] = isBatch ? input : [input];
    if (isBatch && items.length > MAX_BATCH) {
      throw new ValidationError(
        'batch_too_large',
        `A batch holds at most ${MAX_BATCH} events; this one has ${items.length}`,
      );
    }
    if (isBatch && items.length === 0) {
      throw new ValidationError('invalid_event', 'A batch must hold at least one event');
    }
    if (
      idempotencyKey !== undefined &&
      (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY)
    ) {
      throw new ValidationError(
        'invalid_request',
        `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters`,
      );
    }
    const normalised = items.map((item, i) => normaliseEvent(item, now, isBatch ? i : undefined));
    const routes = await this.routesOf(accountId);
    // Returned, not awaited: an async function keeps its locals (here the whole parsed request)
    // until it resumes, so awaiting the commit here would keep every event of the batch alive
    // while it commits, long enough to be promoted to the old generation.
    return this.submit(accountId, normalised, routes, now, isBatch, rawBody, idempotencyKey, trace);
  }

  /** Builds the batch, commits it, and answers from the outcome. */
  private submit(
    accountId: AccountId,
    normalised: readonly NormalisedEvent[],
    routes: readonly Route[],
    now: number,
    isBatch: boolean,
    rawBody: string,
    idempotencyKey: string | undefined,
    trace: Span | null,
  ): Promise<PublishResult> {
    const traceParent = trace ? trace.traceparent() : null;
    const taker = this.handover?.current() ?? null;
    const handed: HandedOver | null = taker ? { taker, deliveries: [], due: now } : null;
    const events: NewEvent[] = normalised.map((e) => {
      const id = newId('event', now);
      const deliveries: NewDelivery[] = [];
      for (const route of routes) {
        if (!subscribes(route, e.name)) continue;
        const status = statusAtCreation(route);
        const ordered = route.options.ordering === 'package';
        const deliveryId = newId('delivery', now);
        // Package order is kept by claims alone: such deliveries are never handed over.
        const lease =
          taker && status === 'pending' && !ordered
            ? taker.reserve(route.id, route.options, e.payload.length)
            : null;
        if (lease) {
          handed!.deliveries.push({
            id: deliveryId,
            eventId: id,
            endpointId: route.id,
            accountId,
            payload: e.payload,
            attempts: 0,
            cycleAttempts: 0,
            endpointVersion: route.version,
            manual: false,
            traceParent,
          });
        }
        deliveries.push({
          id: deliveryId,
          endpointId: route.id,
          status,
          orderingKey: ordered ? e.packageId : null,
          lease: lease ?? undefined,
        });
      }
      return {
        event: {
          id,
          accountId,
          name: e.name,
          packageId: e.packageId,
          payload: e.payload,
          receivedAt: now,
        },
        deliveries,
        ...(traceParent ? { traceParent } : {}),
      };
    });
    const ids = events.map((e) => e.event.id);
    const response = JSON.stringify(isBatch ? { ids } : { id: ids[0] });
    const batch: IngestBatch = {
      accountId,
      idempotency:
        idempotencyKey === undefined
          ? null
          : {
              key: idempotencyKey,
              requestHash: createHash('sha256').update(rawBody).digest('hex'),
            },
      events,
      response,
    };
    return this.commit(batch, trace, handed).then((outcome) => {
      switch (outcome.kind) {
        case 'inserted':
          return { body: response, replayed: false };
        case 'replayed':
          return { body: outcome.response, replayed: true };
        case 'conflict':
          throw new ValidationError(
            'idempotency_conflict',
            'This Idempotency-Key was already used with a different request body',
          );
      }
    });
  }

  private routesOf(accountId: AccountId): Promise<Route[]> {
    return this.routes.get(accountId, async () =>
      (await this.store.listEndpoints(accountId)).map((row) => ({
        id: row.id,
        events: row.events,
        state: row.state,
        authStatus: row.authStatus,
        options: row.options,
        version: row.version,
      })),
    );
  }

  /** Hands the batch to the store (which groups concurrent commits) and counts what it inserted. */
  private commit(
    batch: IngestBatch,
    trace: Span | null,
    handed: HandedOver | null,
  ): Promise<IngestOutcome> {
    const counts = IngestService.count(batch, handed?.deliveries.length ?? 0);
    // Left for a claim: the worker must not take them, while they commit, for a backlog.
    if (handed && counts.queued > 0) handed.taker.committing(handed.due, counts.queued);
    const span = trace
      ? this.tracer.start('ingest commit', {
          kind: 'internal',
          parent: trace,
          attributes: {
            'herald.events': counts.events,
            'herald.deliveries': counts.created + counts.held,
          },
        })
      : null;
    const committing = this.store.ingest([batch]).then(
      ([outcome]) => {
        if (handed) IngestService.handOver(handed, counts.queued, outcome!);
        this.committed(counts, outcome!);
        span?.setAttributes({ 'herald.ingest.outcome': outcome!.kind });
        return outcome!;
      },
      (error: unknown) => {
        if (handed) IngestService.handOver(handed, counts.queued, null);
        throw error;
      },
    );
    if (span) {
      void committing.then(
        () => span.end(),
        (error: unknown) => {
          span.fail(error instanceof Error ? error.message : String(error));
          span.end();
        },
      );
    }
    return committing;
  }

  /**
   * Committed: the worker delivers them, but for those the store left out (their endpoint was
   * deleted meanwhile); not committed (replayed, conflict, failed): their leases go back.
   */
  private static handOver(
    { taker, deliveries, due }: HandedOver,
    queued: number,
    outcome: IngestOutcome | null,
  ): void {
    if (queued > 0) taker.committed(due, queued);
    if (deliveries.length === 0) return;
    if (outcome?.kind !== 'inserted') {
      for (const d of deliveries) taker.cancel(d);
    } else if (!outcome.skipped) {
      taker.adopt(deliveries);
    } else {
      const skipped = new Set(outcome.skipped);
      for (const d of deliveries) if (skipped.has(d.id)) taker.cancel(d);
      taker.adopt(deliveries.filter((d) => !skipped.has(d.id)));
    }
  }

  private static count(batch: IngestBatch, handedOver: number): BatchCounts {
    let created = 0;
    let held = 0;
    for (const e of batch.events) {
      for (const d of e.deliveries) {
        if (d.status === 'pending') created++;
        else held++;
      }
    }
    return { events: batch.events.length, created, held, queued: created - handedOver };
  }

  /** Counts what was inserted and wakes the workers for the new pending deliveries. */
  private committed(counts: BatchCounts, outcome: IngestOutcome): void {
    if (outcome.kind !== 'inserted') return;
    // Handed-over deliveries the store left out (their endpoint is gone) were neither.
    const skipped = outcome.skipped?.length ?? 0;
    const created = counts.created - skipped;
    if (counts.events > 0) this.metrics.eventsReceived.inc(counts.events);
    if (created > 0) this.metrics.deliveriesCreated.inc({ status: 'pending' }, created);
    if (counts.held > 0) this.metrics.deliveriesCreated.inc({ status: 'held' }, counts.held);
    const handedOver = created - counts.queued;
    if (handedOver > 0) this.metrics.deliveriesHandedOver.inc(handedOver);
    // Work left in the store for a claim; what was handed over is with the worker already.
    if (counts.queued > 0) this.signal.notify();
  }
}
