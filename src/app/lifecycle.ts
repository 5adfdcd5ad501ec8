// What a start has started, so that it can be stopped in order: by `stop()`, and by a start
// that fails half-way (a port in use, say), so the process exits with the reason instead of
// living on.

import type { Server } from 'node:http';
import type { Outbound } from '../net/outbound.js';
import type { Logger } from '../observability/logger.js';
import { NO_TRACING, type Tracer } from '../observability/tracing.js';
import type { Worker } from '../queue/worker.js';
import type { EndpointResidue } from '../services/endpoint-residue.js';
import type { Store } from '../store/port.js';

/** A background task (relay, mailer, retention, the SMTP connection). */
export interface Stoppable {
  stop(): Promise<void> | void;
}

export class Lifecycle {
  server: Server | null = null;
  worker: Worker | null = null;
  outbound: Outbound | null = null;
  tracer: Tracer = NO_TRACING;
  /** Background tasks, stopped (last started first) before the store closes. */
  private readonly background: Stoppable[] = [];
  /** What is given back of the data dir, last of all (last added first). */
  private readonly releases: Array<() => void> = [];

  constructor(
    private readonly store: Store,
    private readonly residue: EndpointResidue,
    private readonly logger: Logger,
  ) {}

  addBackground(...tasks: Stoppable[]): void {
    this.background.push(...tasks);
  }

  /** Runs `release` at the very end of the shutdown, before the releases added earlier. */
  addRelease(release: () => void): void {
    this.releases.push(release);
  }

  /**
   * Stops what has been started, in order: no new connections, deliveries given `graceMs` to
   * finish, then the connections, the background tasks, the outbound pool and the store; the
   * data dir last.
   */
  async shutDown(graceMs: number): Promise<void> {
    const { server, worker, logger } = this;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : undefined;
    server?.closeIdleConnections();
    this.residue.stop();
    const left = worker ? await worker.stop(graceMs) : 0;
    if (left > 0)
      logger.warn({ left }, 'stopped with deliveries still in flight; they will be retried');
    server?.closeAllConnections();
    await closed;
    for (const task of this.background.splice(0).reverse()) await task.stop();
    await this.outbound?.close();
    await this.store.close();
    // Last: the spans of everything above are sent before the process goes.
    await this.tracer
      .shutdown()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not send the last spans'));
    for (const release of this.releases.splice(0).reverse()) release();
  }
}
