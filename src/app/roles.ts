// The roles a process plays (HERALD_ROLE): `api` serves the HTTP API and the console, `worker`
// delivers (and keeps the retention), `all` does both. Every role answers `/healthz`,
// `/readyz` and `/metrics`, so the HTTP server always listens.

import { createApp } from '../api/app.js';
import { listen } from '../api/server.js';
import type { Config } from '../config/settings.js';
import { createConsole } from '../console/app.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import { EndpointCache } from '../delivery/endpoint-cache.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracer } from '../observability/tracing.js';
import type { WorkSignal } from '../queue/work-signal.js';
import type { Handover } from '../queue/handover.js';
import { Worker } from '../queue/worker.js';
import type { EndpointRepository } from '../services/endpoint-repo.js';
import type { EndpointResidue } from '../services/endpoint-residue.js';
import type { Services } from '../services/index.js';
import { Retention } from '../services/retention.js';
import type { SecretBox } from '../services/secret-box.js';
import type { Store } from '../store/port.js';
import { VERSION } from '../version.js';
import type { Lifecycle } from './lifecycle.js';

export const servesApi = (config: Config): boolean => config.role !== 'worker';
export const delivers = (config: Config): boolean => config.role !== 'api';

/** The HTTP app (the API and console unless the role is `worker`), listening. */
export function serveHttp(parts: {
  readonly config: Config;
  readonly services: Services;
  readonly box: SecretBox;
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly clock: () => number;
}) {
  const { config, services, logger } = parts;
  const app = createApp({
    services,
    logger,
    version: VERSION,
    api: servesApi(config),
    bodyTimeoutMs: config.bodyTimeoutMs,
    metricsToken: config.metricsToken,
    console: servesApi(config)
      ? createConsole({
          services,
          clock: parts.clock,
          box: parts.box.derive('herald console cookies'),
          sessionMs: config.consoleSessionMs,
          publicUrl: config.publicUrl,
          logger,
          version: VERSION,
        })
      : undefined,
    tracer: parts.tracer,
  });
  return listen(app, { port: config.port, host: config.host }, logger);
}

/**
 * The delivery worker: takes back what a previous run left in flight, then leases and sends.
 * Its endpoint cache follows the repository's changes and is part of the residue.
 */
export async function startWorker(parts: {
  readonly config: Config;
  readonly store: Store;
  readonly repo: EndpointRepository;
  readonly dispatcher: Dispatcher;
  readonly residue: EndpointResidue;
  readonly signal: WorkSignal;
  readonly handover: Handover;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly owner: string;
  /** Told when results raised operational events (the relay fans them out). */
  readonly onRaised: () => void;
  /** Stops the worker, even when its start fails. */
  readonly lifecycle: Lifecycle;
}): Promise<void> {
  const { config, store, repo, residue, logger, clock } = parts;
  const recovered = await store.recoverLeases(clock(), store.capabilities.singleProcess);
  if (recovered > 0)
    logger.info({ recovered }, 'took back deliveries left in flight by a previous run');
  const cache = new EndpointCache((id) => repo.find(id));
  repo.onChange((_account, id) => cache.invalidate(id));
  residue.add('endpoint cache', {
    endpointsHeld: () => cache.endpointsHeld(),
    forget: (id) => cache.invalidate(id),
  });
  const worker = new Worker({
    store,
    dispatcher: parts.dispatcher,
    endpoints: cache,
    signal: parts.signal,
    logger,
    clock,
    owner: parts.owner,
    concurrency: config.workerConcurrency,
    leaseMs: config.leaseMs,
    // Only where no other worker could take what waits in the store instead.
    handoverBytes: store.capabilities.concurrentWorkers
      ? 0
      : config.handoverMemoryMib * 1024 * 1024,
    pollIntervalMs: config.pollIntervalMs,
    onRaised: parts.onRaised,
    handover: parts.handover,
  });
  // After the cache above has dropped its copy: the lane loads the new version.
  repo.onChange((_account, id, version) => {
    if (version !== null) worker.endpointChanged(id, version);
  });
  parts.lifecycle.worker = worker;
  residue.add('worker', worker);
  await worker.start();
}

/** Deletes what is older than HERALD_RETENTION, when it is set; null when it is not. */
export function startRetention(parts: {
  readonly config: Config;
  readonly store: Store;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
}): Retention | null {
  const { config } = parts;
  if (config.retentionMs === null) return null;
  const retention = new Retention({
    store: parts.store,
    retentionMs: config.retentionMs,
    logger: parts.logger,
    metrics: parts.metrics,
    clock: parts.clock,
  });
  retention.start();
  return retention;
}
