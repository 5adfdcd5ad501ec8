// The service graph: the endpoint repository and health, the token manager, the dispatcher, and
// the use cases the API, the console and the CLI call (services/index.ts). Also what this
// process keeps per endpoint (EndpointResidue), so a deleted endpoint leaves nothing behind.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { NetworkPolicy } from '../domain/addresses.js';
import { Credentials } from '../delivery/credentials.js';
import { Dispatcher } from '../delivery/dispatcher.js';
import { checkDestination } from '../net/guard.js';
import type { Outbound } from '../net/outbound.js';
import { TokenManager } from '../oauth/token-manager.js';
import type { QueueSampler } from '../observability/metrics.js';
import type { Tracer } from '../observability/tracing.js';
import { AccountService } from '../services/accounts.js';
import { DeliveryService } from '../services/deliveries.js';
import { EndpointHealth } from '../services/endpoint-health.js';
import { EndpointRepository } from '../services/endpoint-repo.js';
import type { EndpointResidue } from '../services/endpoint-residue.js';
import { EndpointTester } from '../services/endpoint-tester.js';
import { EndpointTokens } from '../services/endpoint-tokens.js';
import { EndpointService } from '../services/endpoints.js';
import type { Services } from '../services/index.js';
import { IngestService } from '../services/ingest.js';
import type { OperationalEvents } from '../services/operational-events.js';
import { OverviewService } from '../services/overview.js';
import type { SecretBox } from '../services/secret-box.js';
import { WebConnect } from '../services/web-connect.js';
import type { Store } from '../store/port.js';
import { VERSION } from '../version.js';
import type { NotifierParts } from './notifiers.js';
import type { Handover } from '../queue/handover.js';

export interface ServiceParts extends NotifierParts {
  readonly box: SecretBox;
  readonly tracer: Tracer;
  readonly outbound: Outbound;
  /** The SSRF guard's settings, which endpoint URLs are checked against when saved. */
  readonly policy: NetworkPolicy;
  readonly ops: OperationalEvents;
  readonly residue: EndpointResidue;
  /** Whether this process is ready (for `/readyz`). */
  readonly ready: () => boolean;
  /** Where publishes hand new deliveries to this process's worker. */
  readonly handover: Handover;
}

export interface ServiceGraph {
  readonly services: Services;
  readonly repo: EndpointRepository;
  readonly dispatcher: Dispatcher;
  /** This process's name on leases and token locks. */
  readonly owner: string;
}

/** What `/metrics` samples of the queue on each scrape. */
function queueSampler(store: Store, clock: () => number): QueueSampler {
  return {
    async sample() {
      const now = clock();
      const q = await store.queueStats(now);
      return {
        ...q,
        oldestDueAgeSeconds: q.oldestDueAt === null ? 0 : Math.max(0, (now - q.oldestDueAt) / 1000),
        endpoints: await store.countEndpointsByState(),
      };
    },
  };
}

export function buildServices(parts: ServiceParts): ServiceGraph {
  const { config, store, box, logger, metrics, tracer, clock, random, outbound, signal, ops } =
    parts;
  const { residue } = parts;
  const repo = new EndpointRepository(store, box, clock);
  const health = new EndpointHealth(repo, ops, clock, config.disableAfterMs, store);
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const tokens = new TokenManager({
    store,
    box,
    fetch: outbound.fetch,
    logger,
    metrics,
    clock,
    random,
    owner,
    tracer,
    onPersistFailed: (endpoint, error) =>
      void ops.raise(
        'oauth.persist_failed',
        endpoint.accountId,
        { endpointId: endpoint.id },
        { error: error instanceof Error ? error.message : String(error) },
      ),
  });
  // Deleted endpoints leave nothing behind: at once here, and in this process too when
  // another one deleted them (the sweep asks the store, on the lease recovery's beat).
  residue.add('tokens', tokens);
  residue.add('metrics', {
    endpointsHeld: () => metrics.endpointsHeld(),
    forget: (id) => metrics.forgetEndpoint(id),
  });
  repo.onDelete((id) => residue.forget(id));
  residue.start(Math.max(1000, config.leaseMs / 2), (error) =>
    logger.error({ err: error }, 'could not look for deleted endpoints'),
  );
  const dispatcher = new Dispatcher({
    send: (request) => outbound.send(request),
    credentials: new Credentials(tokens),
    health,
    metrics,
    logger,
    clock,
    random,
    retrySchedule: config.retrySchedule,
    userAgent: `Herald/${VERSION}`,
    tracer,
  });
  const guard = (url: string) => checkDestination(url, parts.policy);
  const endpoints = new EndpointService(repo, clock, guard, ops, signal, store);
  const services: Services = {
    accounts: new AccountService(store, clock, config.adminKey),
    endpoints,
    ingest: new IngestService(store, repo, clock, signal, metrics, tracer, parts.handover),
    deliveries: new DeliveryService(store, clock, signal),
    tester: new EndpointTester(
      repo,
      (endpoint, eventId, payload) => dispatcher.probe(endpoint, eventId, payload),
      clock,
    ),
    tokens: new EndpointTokens(repo, tokens, health, outbound.fetch, store),
    operations: ops,
    overview: new OverviewService(store, clock),
    connect: new WebConnect(endpoints, guard, outbound.fetch),
    metrics,
    sampler: queueSampler(store, clock),
    health: () => ({ ready: parts.ready() }),
    storeCheck: () => store.ping(),
  };
  return { services, repo, dispatcher, owner };
}
