// Retention (HERALD_RETENTION): finished history older than the retention period is deleted, so
// the store holds the work in progress and a bounded past, not everything ever delivered. Runs at
// start and then every minute (more often for short periods), in small steps: each step is one
// short transaction over at most BATCH rows, and the steps of a pass yield to other work between
// them, so deliveries, claims and publishes never wait behind a long delete. What may go is the
// store's rule (Store.purge): pending, delivering and held deliveries never do.

import { ALERT_EMAIL_GAP_MS } from '../domain/alert-email.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { PURGE_TABLES, type OperationsStore, type PurgeTable } from '../store/port.js';
import { Background } from './background.js';

/** Rows one step looks at: a few milliseconds of work. */
const BATCH = 500;
/** The longest time between two passes. */
const MAX_INTERVAL_MS = 60_000;

export interface RetentionOptions {
  readonly store: OperationsStore;
  /** How old finished history may get. */
  readonly retentionMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  readonly batch?: number;
}

export class Retention extends Background {
  constructor(private readonly o: RetentionOptions) {
    // A pass at least every minute; for a short period (tests, demos), every half period.
    super('retention', Math.max(1000, Math.min(MAX_INTERVAL_MS, o.retentionMs / 2)), o.logger);
  }

  protected async run(): Promise<void> {
    const now = this.o.clock();
    const deleted: Partial<Record<PurgeTable, number>> = {};
    for (const table of PURGE_TABLES) {
      const count = await this.purgeTable(table, this.cutoff(table, now));
      if (count > 0) deleted[table] = count;
    }
    if (Object.keys(deleted).length > 0) {
      this.o.logger.info({ deleted, before: new Date(now - this.o.retentionMs) }, 'retention');
    }
  }

  /** Sent emails stay at least an hour whatever the period: the next one's timing reads them. */
  private cutoff(table: PurgeTable, now: number): number {
    const before = now - this.o.retentionMs;
    return table === 'alert_emails' ? Math.min(before, now - ALERT_EMAIL_GAP_MS) : before;
  }

  private async purgeTable(table: PurgeTable, before: number): Promise<number> {
    let deleted = 0;
    let after: string | null = null;
    for (;;) {
      const step = await this.o.store.purge({ table, before, after, limit: this.o.batch ?? BATCH });
      deleted += step.deleted;
      // Counted as it goes: a long pass shows its progress.
      if (step.deleted > 0) this.o.metrics.retentionDeleted.inc({ table }, step.deleted);
      if (step.next === null) return deleted;
      after = step.next;
      // Whatever else waits for the store (a claim, results, a publish) goes first.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
