// How one delivery attempt runs: prepare (auth, signature, headers) -> send -> classify ->
// decide the delivery's next state. Never throws: every path ends in a DeliveryResult.

import type { Endpoint } from '../domain/endpoint.js';
import { acceptsAttempts } from '../domain/endpoint.js';
import type { AttemptTrigger } from '../domain/delivery.js';
import { newId, type EndpointId } from '../domain/ids.js';
import { newOperationalEvent } from '../domain/operational.js';
import { outcomeName } from '../domain/outcome.js';
import { nextAttemptAt, parseRetryAfter } from '../domain/retry.js';
import {
  afterResult,
  attemptsAfter,
  cycleAttemptsAfter,
  type ResultEvent,
} from '../domain/transitions.js';
import type { SendResult } from '../net/outbound.js';
import type { Logger } from '../observability/logger.js';
import { spanUrl, type Span, type Tracer } from '../observability/tracing.js';
import type { Metrics } from '../observability/metrics.js';
import type {
  AttemptRecord,
  ClaimedDelivery,
  DeliveryResult,
  OperationalEventRecord,
} from '../store/port.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { BearerRecovery, outcomeOf, type Exchange, type Sent } from './bearer.js';
import type { Authorization, Credentials } from './credentials.js';
import { withoutSentCredentials } from './sent-credentials.js';
import { signatureHeader } from './signature.js';

/** When a delivery interrupted by a store outage is tried again (±20 %). */
const STORE_RETRY_MS = 2000;

export interface OutboundRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  /** Asked right before the request is written; false drops it unsent (`withdrawn`). */
  readonly stillWanted?: (() => boolean) | undefined;
}

export type Send = (request: OutboundRequest) => Promise<SendResult>;

/** What delivery outcomes do to endpoints (implemented by services/endpoint-health). */
export interface HealthHooks {
  /** `url`: the address that answered; returns false when the endpoint has moved since. */
  disable(id: EndpointId, reason: string, url?: string): Promise<boolean>;
  failed(endpoint: Endpoint, at: number): Promise<void>;
  succeeded(endpoint: Endpoint): Promise<void>;
  /** `credential`: the submission that failed; a newer one must not be parked for it. */
  requireReauthorization(id: EndpointId, reason: string, credential?: string): Promise<boolean>;
  credentialsWork(endpoint: Endpoint): Promise<void>;
}

export interface DispatcherOptions {
  readonly send: Send;
  readonly credentials: Credentials;
  readonly health: HealthHooks;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly random: () => number;
  readonly retrySchedule: readonly number[];
  readonly userAgent: string;
  /** Traces: each attempt an HTTP client span, its `traceparent` sent to the listener. */
  readonly tracer?: Tracer;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly statusCode: number | null;
  readonly durationMs: number;
  readonly responseBody: string | null;
  readonly error: string | null;
}

/**
 * Every result the dispatcher returns, with or without an attempt, as one literal: the same
 * fields in the same order give V8 one shape for all of them. Results built by spreading a shared
 * base had a shape of their own, and the code that read them cost about a fifth more. The status
 * and the counters are the domain's transition for what happened (`event`); `attempt` is given
 * exactly when that transition counts one.
 */
function deliveryResult(
  c: ClaimedDelivery,
  owner: string,
  event: ResultEvent,
  nextAttemptAt: number | null,
  lastError: string | null,
  now: number,
  attempt: AttemptRecord | null,
  raised: OperationalEventRecord | null = null,
): DeliveryResult {
  const t = afterResult(event);
  return {
    deliveryId: c.id,
    owner,
    status: t.to,
    nextAttemptAt,
    attempts: attemptsAfter(t, c.attempts),
    cycleAttempts: cycleAttemptsAfter(t, c.cycleAttempts),
    lastStatusCode: attempt ? attempt.statusCode : null,
    lastError,
    updatedAt: now,
    attempt,
    raised,
  };
}

export class Dispatcher {
  /** A listener refused the bearer token: a newer one, and one resend. */
  private readonly bearer: BearerRecovery;

  constructor(private readonly o: DispatcherOptions) {
    this.bearer = new BearerRecovery(o.credentials.tokens);
  }

  /**
   * Builds the request headers for one attempt (without auth when `authorization` is undefined;
   * with the attempt span's `traceparent` when tracing).
   */
  headers(
    endpoint: Endpoint,
    eventId: string,
    body: string,
    authorization: string | undefined,
    span: Span | null = null,
  ): Record<string, string> {
    const now = this.o.clock();
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': this.o.userAgent,
      'webhook-id': eventId,
      'webhook-timestamp': String(timestamp),
    };
    const secrets = endpoint.secrets.signingSecrets;
    if (secrets && secrets.length > 0) {
      const signature = signatureHeader(secrets, eventId, timestamp, body, now);
      if (signature) headers['webhook-signature'] = signature;
    }
    if (authorization !== undefined) headers.authorization = authorization;
    for (const h of endpoint.customHeaders) headers[h.key.toLowerCase()] = h.value;
    if (span) headers.traceparent = span.traceparent();
    return headers;
  }

  // The path every delivery takes (run, attempt, exchange, sendOnce, decide) has one async
  // function, `attempt`: the others chain promises or answer at once. Each async layer cost a
  // promise, a suspended frame and a few microtasks per delivery, on the thread that limits
  // the delivery rate.

  private sendOnce(
    endpoint: Endpoint,
    eventId: string,
    payload: string,
    auth: Authorization & { ok: true },
    span: Span | null,
  ): Promise<Sent> {
    return this.o
      .send({
        url: endpoint.url,
        headers: this.headers(endpoint, eventId, payload, auth.header, span),
        body: payload,
        timeoutMs: endpoint.options.timeoutMs,
        stillWanted: this.bearer.stillWanted(endpoint, auth),
      })
      .then((response) => {
        const outcome = outcomeOf(response, auth.bearer);
        this.o.metrics.observeAttempt(outcomeName(outcome), response.durationMs / 1000);
        return { response, outcome, authorization: auth.header };
      });
  }

  /** Never rejects: every path ends in a DeliveryResult. */
  run(c: ClaimedDelivery, endpoint: Endpoint, owner: string): Promise<DeliveryResult> {
    const tracer = this.o.tracer;
    const attempt = tracer?.on
      ? this.traced(tracer, c, endpoint, owner)
      : this.attempt(c, endpoint, owner, null);
    return attempt.catch((error: unknown) => {
      // The store went away while the attempt needed it (a token read or lock): nothing was
      // sent, so try again soon. Anything else is a bug: try much later. Never lose it.
      const outage = isStoreUnavailable(error);
      const log = { err: error, deliveryId: c.id, endpointId: c.endpointId };
      if (outage) this.o.logger.warn(log, 'the store was unavailable during a delivery');
      else this.o.logger.error(log, 'delivery attempt failed unexpectedly');
      const wait = outage ? STORE_RETRY_MS * (0.8 + 0.4 * this.o.random()) : 30_000;
      const why = outage ? 'the store was unavailable' : 'internal error';
      return this.unattempted(
        c,
        owner,
        'deferred',
        this.o.clock() + wait,
        `${why}; will try again`,
      );
    });
  }

  private unattempted(
    c: ClaimedDelivery,
    owner: string,
    event: 'refused' | 'deferred',
    next: number | null,
    lastError: string,
  ): DeliveryResult {
    this.o.metrics.countFinished(event === 'refused' ? 'held' : 'deferred');
    return deliveryResult(c, owner, event, next, lastError, this.o.clock(), null);
  }

  /**
   * The attempt as an HTTP client span, a child of the publish that made the event (its stored
   * traceparent), active while it runs so a token request it needs is its child.
   */
  private traced(
    tracer: Tracer,
    c: ClaimedDelivery,
    endpoint: Endpoint,
    owner: string,
  ): Promise<DeliveryResult> {
    const target = new URL(endpoint.url);
    const span = tracer.start('POST', {
      kind: 'client',
      parent: c.traceParent,
      attributes: {
        'http.request.method': 'POST',
        'url.full': spanUrl(endpoint.url),
        'server.address': target.hostname,
        'server.port': Number(target.port) || (target.protocol === 'https:' ? 443 : 80),
        'herald.delivery.id': c.id,
        'herald.event.id': c.eventId,
        'herald.endpoint.id': c.endpointId,
      },
    });
    return tracer
      .within(span, () => this.attempt(c, endpoint, owner, span))
      .then(
        (result) => {
          const a = result.attempt;
          span.setAttributes({
            'herald.delivery.status': result.status,
            ...(a
              ? { 'herald.attempt.outcome': a.outcome, 'herald.attempt.number': a.number }
              : {}),
            ...(a?.statusCode ? { 'http.response.status_code': a.statusCode } : {}),
          });
          if (a && a.outcome !== 'success') {
            span.setAttributes({ 'error.type': a.statusCode ? String(a.statusCode) : a.outcome });
            span.fail(result.lastError ?? a.outcome);
          }
          span.end();
          return result;
        },
        (error: unknown) => {
          span.fail(error instanceof Error ? error.message : String(error));
          span.end();
          throw error;
        },
      );
  }

  private async attempt(
    c: ClaimedDelivery,
    endpoint: Endpoint,
    owner: string,
    span: Span | null,
  ): Promise<DeliveryResult> {
    if (!acceptsAttempts(endpoint)) {
      const why =
        endpoint.state === 'disabled'
          ? 'endpoint is disabled'
          : 'endpoint credentials need re-authorization';
      return this.unattempted(c, owner, 'refused', null, why);
    }
    const startedAt = this.o.clock();
    // Basic keys and no auth are answered at once; only a bearer token may have to be waited for.
    const authorizing = this.o.credentials.authorize(endpoint);
    const auth = authorizing instanceof Promise ? await authorizing : authorizing;
    if (!auth.ok) return this.authFailed(c, endpoint, owner, auth);

    const exchange = await this.exchange(endpoint, c.eventId, c.payload, auth, span);
    if (!exchange.ok) return this.authFailed(c, endpoint, owner, exchange.auth);
    const trigger: AttemptTrigger = exchange.refreshed
      ? 'token_refresh'
      : c.manual
        ? 'manual'
        : 'scheduled';
    return this.decide(c, endpoint, owner, exchange.sent, startedAt, trigger);
  }

  /**
   * Sends once; when the listener refuses the bearer token, the bearer module gets a newer one
   * and resends once (delivery/bearer.ts). The pair counts as one attempt.
   */
  private exchange(
    endpoint: Endpoint,
    eventId: string,
    payload: string,
    first: Authorization & { ok: true },
    span: Span | null,
  ): Promise<Exchange> {
    return this.sendOnce(endpoint, eventId, payload, first, span).then((sent) =>
      sent.outcome.kind === 'token_rejected'
        ? this.bearer
            .resend(endpoint, first, sent, (auth) =>
              this.sendOnce(endpoint, eventId, payload, auth, span),
            )
            .then((resent) => this.exchanged(endpoint, first, resent))
        : this.exchanged(endpoint, first, { ok: true, sent, refreshed: false }),
    );
  }

  /** A bearer token that worked makes unverified credentials ok. */
  private exchanged(
    endpoint: Endpoint,
    first: Authorization & { ok: true },
    exchange: Exchange,
  ): Exchange {
    if (first.bearer && exchange.ok && exchange.sent.outcome.kind === 'success') {
      void this.o.health
        .credentialsWork(endpoint)
        .catch((e: unknown) => this.logHookError(e, endpoint));
    }
    return exchange;
  }

  /** Sends a test event now, through the same auth and signing path, without recording it. */
  async probe(endpoint: Endpoint, eventId: string, payload: string): Promise<ProbeResult> {
    const auth = await this.o.credentials.authorize(endpoint);
    if (!auth.ok)
      return {
        ok: false,
        statusCode: null,
        durationMs: 0,
        responseBody: null,
        error: auth.message,
      };
    const exchange = await this.exchange(endpoint, eventId, payload, auth, null);
    if (!exchange.ok) {
      if (exchange.auth.kind === 'terminal')
        await this.o.health.requireReauthorization(
          endpoint.id,
          exchange.auth.message,
          exchange.auth.credential,
        );
      return {
        ok: false,
        statusCode: null,
        durationMs: 0,
        responseBody: null,
        error: exchange.auth.message,
      };
    }
    const { response, outcome, authorization } = exchange.sent;
    return {
      ok: outcome.kind === 'success',
      statusCode: response.ok ? response.status : null,
      durationMs: Math.round(response.durationMs),
      responseBody: response.ok
        ? withoutSentCredentials(response.body, endpoint, authorization)
        : null,
      error: response.ok
        ? outcome.kind === 'success'
          ? null
          : `HTTP ${response.status}`
        : response.message,
    };
  }

  private authFailed(
    c: ClaimedDelivery,
    endpoint: Endpoint,
    owner: string,
    auth: Authorization & { ok: false },
  ): Promise<DeliveryResult> | DeliveryResult {
    if (auth.kind === 'terminal') {
      return this.o.health
        .requireReauthorization(endpoint.id, auth.message, auth.credential)
        .then((parked) =>
          parked
            ? this.unattempted(c, owner, 'refused', null, auth.message)
            : // New credentials replaced the dead ones meanwhile: try with them now.
              this.unattempted(c, owner, 'deferred', this.o.clock(), auth.message),
        );
    }
    // The token endpoint is down or busy: try later without spending this delivery's attempts.
    return this.unattempted(c, owner, 'deferred', this.o.clock() + auth.retryInMs, auth.message);
  }

  /** Answers at once, except after a 410, which waits for the endpoint to be disabled. */
  private decide(
    c: ClaimedDelivery,
    endpoint: Endpoint,
    owner: string,
    sent: Sent,
    startedAt: number,
    trigger: AttemptTrigger,
  ): DeliveryResult | Promise<DeliveryResult> {
    const now = this.o.clock();
    const { response, outcome } = sent;
    const attempts = c.attempts + 1;
    const cycleAttempts = c.cycleAttempts + 1;
    const statusCode = response.ok ? response.status : null;
    const attempt: AttemptRecord = {
      id: newId('attempt', now),
      deliveryId: c.id,
      number: attempts,
      trigger,
      startedAt,
      durationMs: Math.max(0, Math.round(response.durationMs)),
      statusCode,
      outcome: outcomeName(outcome),
      error: response.ok ? null : response.message,
      responseBody: response.ok
        ? withoutSentCredentials(response.body, endpoint, sent.authorization) || null
        : null,
    };
    this.o.metrics.countAttempt(attempt.outcome);
    const settle = (
      event: ResultEvent,
      nextAttemptAt: number | null,
      lastError: string | null,
      raised: OperationalEventRecord | null = null,
    ): DeliveryResult =>
      deliveryResult(c, owner, event, nextAttemptAt, lastError, now, attempt, raised);

    switch (outcome.kind) {
      case 'success':
        this.o.metrics.countFinished('succeeded');
        if (endpoint.failingSince !== null) {
          void this.o.health
            .succeeded(endpoint)
            .catch((e: unknown) => this.logHookError(e, endpoint));
        }
        return settle('success', null, null);
      case 'gone':
        return this.o.health
          .disable(endpoint.id, 'the listener answered 410 Gone', endpoint.url)
          .then((disabled) => {
            if (!disabled) {
              // The endpoint moved to another URL since this attempt: deliver there now.
              this.o.metrics.countFinished('retrying');
              return settle('failure', now, 'HTTP 410 Gone');
            }
            this.o.metrics.countFinished('held');
            return settle('gone', null, 'HTTP 410 Gone: endpoint disabled');
          });
      case 'token_rejected':
      case 'retry': {
        const failure =
          outcome.kind === 'retry' ? outcome : { slowDown: false, retryAfter: undefined };
        const lastError = response.ok
          ? response.status >= 300 && response.status < 400
            ? `HTTP ${response.status} (redirects are not followed)`
            : `HTTP ${response.status}`
          : response.message;
        const next = nextAttemptAt({
          triesDone: cycleAttempts,
          schedule: endpoint.options.retrySchedule ?? this.o.retrySchedule,
          retryAfterMs: parseRetryAfter(failure.retryAfter, now),
          slowDown: failure.slowDown,
          now,
          random: this.o.random(),
        });
        void this.o.health
          .failed(endpoint, now)
          .catch((e: unknown) => this.logHookError(e, endpoint));
        if (next === null) {
          this.o.metrics.countFinished('failed');
          // Stored with the result, in its transaction: told exactly when the delivery fails.
          const exhausted = newOperationalEvent(
            'delivery.exhausted',
            c.accountId,
            { endpointId: c.endpointId, deliveryId: c.id },
            { attempts, lastError },
            now,
          );
          return settle('exhausted', null, lastError, exhausted);
        }
        this.o.metrics.countFinished('retrying');
        return settle('failure', next, lastError);
      }
    }
  }

  private logHookError(error: unknown, endpoint: Endpoint): void {
    this.o.logger.error(
      { err: error, endpointId: endpoint.id },
      'could not update endpoint health',
    );
  }
}
