// Prometheus metrics. One registry per server instance (tests run several in one process).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EndpointId } from '../domain/ids.js';

export interface QueueSampler {
  /** Called at scrape time for the queue and endpoint gauges. */
  sample(): Promise<{
    pending: number;
    due: number;
    delivering: number;
    held: number;
    failed: number;
    oldestDueAgeSeconds: number;
    endpoints: Array<{ state: string; authStatus: string; count: number }>;
  }>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly eventsReceived = new Counter({
    name: 'herald_events_received_total',
    help: 'Events accepted by ingest (durable).',
    registers: [this.registry],
  });
  readonly deliveriesCreated = new Counter({
    name: 'herald_deliveries_created_total',
    help: 'Deliveries created by fan-out, by initial status.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly deliveriesHandedOver = new Counter({
    name: 'herald_deliveries_handed_over_total',
    help: "New pending deliveries handed from their publish straight to this process's worker, without a claim.",
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: 'herald_delivery_attempts_total',
    help: 'Delivery attempts by outcome (success, http_error, redirect, timeout, connect_error, destination_blocked, gone, ...).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly deliveriesFinished = new Counter({
    name: 'herald_deliveries_total',
    help: 'Deliveries reaching a status after an attempt or a hold: succeeded, failed (exhausted), held, retrying.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly attemptDuration = new Histogram({
    name: 'herald_delivery_attempt_duration_seconds',
    help: 'Time from sending a delivery to the end of the listener response, by outcome (as herald_delivery_attempts_total).',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
    registers: [this.registry],
  });
  /** OpenTelemetry's HTTP server metric as Prometheus names it: stock dashboards read it. */
  private readonly httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'HTTP requests served, by method, route pattern (never the raw path) and status; _count is the request count.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    registers: [this.registry],
  });
  readonly tokenRequests = new Counter({
    name: 'herald_token_requests_total',
    help: 'OAuth token requests by grant and outcome.',
    labelNames: ['grant', 'outcome'],
    registers: [this.registry],
  });
  /**
   * The one series per endpoint: as many as the endpoints this process refreshed tokens for, each
   * removed when its endpoint is deleted (`forgetEndpoint`).
   */
  private readonly tokenRefreshes = new Counter({
    name: 'herald_token_refreshes_total',
    help: 'Successful token refreshes per endpoint.',
    labelNames: ['endpoint'],
    registers: [this.registry],
  });
  private readonly refreshedEndpoints = new Set<EndpointId>();
  readonly operationalEvents = new Counter({
    name: 'herald_operational_events_total',
    help: 'Operational events raised (delivery.exhausted, endpoint.disabled, endpoint.reauthorization_required, ...).',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly alertEmails = new Counter({
    name: 'herald_alert_emails_total',
    help: 'Alert emails to account contacts, by outcome (sent, failed: tried again later).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly retentionDeleted = new Counter({
    name: 'herald_retention_deleted_total',
    help: 'Records deleted by retention (HERALD_RETENTION), by table.',
    labelNames: ['table'],
    registers: [this.registry],
  });
  private readonly queueGauge = new Gauge({
    name: 'herald_queue_deliveries',
    help: 'Deliveries by queue status (pending = waiting, due = pending and due now).',
    labelNames: ['status'],
    registers: [this.registry],
  });
  private readonly oldestDue = new Gauge({
    name: 'herald_queue_oldest_due_age_seconds',
    help: 'How long the oldest due delivery has been waiting.',
    registers: [this.registry],
  });
  private readonly storeUp = new Gauge({
    name: 'herald_store_up',
    help: 'Whether the store answered the last scrape (1) or could not be reached (0).',
    registers: [this.registry],
  });
  private readonly endpointsGauge = new Gauge({
    name: 'herald_endpoints',
    help: 'Endpoints by state and auth status.',
    labelNames: ['state', 'auth_status'],
    registers: [this.registry],
  });

  // The delivery hot path counts into plain maps; they are added to the Prometheus counters
  // when metrics are rendered (a label lookup hashes the label object on every call).
  private readonly pendingAttempts = new Map<string, number>();
  private readonly pendingFinished = new Map<string, number>();
  // Histograms cannot wait like counters: each observation goes to its labelled child, looked up
  // once per label value rather than hashed on every call.
  private readonly attemptDurations = new Map<string, Histogram.Internal<'outcome'>>();
  private readonly httpDurations = new Map<
    string,
    Histogram.Internal<'http_request_method' | 'http_route' | 'http_response_status_code'>
  >();

  /** Records how long one send to a listener took, by its outcome. */
  observeAttempt(outcome: string, seconds: number): void {
    let child = this.attemptDurations.get(outcome);
    if (!child) {
      child = this.attemptDuration.labels({ outcome });
      this.attemptDurations.set(outcome, child);
    }
    child.observe(seconds);
  }

  /** Records one HTTP request served. `route` is the matched route pattern, never the raw path. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let child = this.httpDurations.get(key);
    if (!child) {
      child = this.httpDuration.labels({
        http_request_method: method,
        http_route: route,
        http_response_status_code: String(status),
      });
      this.httpDurations.set(key, child);
    }
    child.observe(seconds);
  }

  /** Counts one successful token refresh of the endpoint. */
  countTokenRefresh(endpoint: EndpointId): void {
    this.refreshedEndpoints.add(endpoint);
    this.tokenRefreshes.inc({ endpoint });
  }

  /** The endpoints with a series of their own. */
  endpointsHeld(): Iterable<EndpointId> {
    return this.refreshedEndpoints;
  }

  /** The endpoint was deleted: its series go. */
  forgetEndpoint(endpoint: EndpointId): void {
    if (!this.refreshedEndpoints.delete(endpoint)) return;
    this.tokenRefreshes.remove({ endpoint });
  }

  /** Counts one delivery attempt by outcome. */
  countAttempt(outcome: string): void {
    this.pendingAttempts.set(outcome, (this.pendingAttempts.get(outcome) ?? 0) + 1);
  }

  /** Counts a delivery reaching a status after an attempt or a hold. */
  countFinished(status: string): void {
    this.pendingFinished.set(status, (this.pendingFinished.get(status) ?? 0) + 1);
  }

  /** Attempts counted so far, all outcomes. */
  async attemptTotal(): Promise<number> {
    this.flushCounts();
    return (await this.attempts.get()).values.reduce((sum, v) => sum + v.value, 0);
  }

  private flushCounts(): void {
    for (const [outcome, n] of this.pendingAttempts) this.attempts.inc({ outcome }, n);
    for (const [status, n] of this.pendingFinished) this.deliveriesFinished.inc({ status }, n);
    this.pendingAttempts.clear();
    this.pendingFinished.clear();
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Without a prefix: the names stock Node.js dashboards read (process_cpu_seconds_total,
    // nodejs_heap_size_used_bytes, ...), not herald_process_process_cpu_seconds_total.
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  async render(sampler: QueueSampler | undefined): Promise<string> {
    this.flushCounts();
    if (sampler) {
      // The process's own metrics stay readable while the store is down: that is when they matter.
      const s = await sampler.sample().catch(() => undefined);
      this.storeUp.set(s ? 1 : 0);
      if (!s) return this.registry.metrics();
      for (const status of ['pending', 'due', 'delivering', 'held', 'failed'] as const) {
        this.queueGauge.set({ status }, s[status]);
      }
      this.oldestDue.set(s.oldestDueAgeSeconds);
      this.endpointsGauge.reset();
      for (const e of s.endpoints) {
        this.endpointsGauge.set({ state: e.state, auth_status: e.authStatus }, e.count);
      }
    }
    return this.registry.metrics();
  }
}
