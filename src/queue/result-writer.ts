// Writes delivery results in batches: everything finished while one write runs goes into the
// next single transaction. A failed write is retried; until it lands the deliveries stay leased
// (the worker renews their leases until they are written), so at worst they are delivered
// again (at least once), never lost. While the store cannot be reached, results wait in memory
// for as long as the outage lasts; only a result the store itself refuses is ever given up
// (its lease is then left to run out, and the delivery is tried again).

import type { Logger } from '../observability/logger.js';
import type { DeliveryResult, QueueStore } from '../store/port.js';
import { isStoreUnavailable } from '../domain/store-unavailable.js';

const MAX_BATCH = 1000;
/** Results gathered this many at least go to the store at once, gathering or not. */
const FULL_BATCH = 256;
const RETRY_MS = 500;
/** Longest pause between writes while the store cannot be reached. */
const MAX_OUTAGE_RETRY_MS = 5000;
const MAX_ROW_FAILURES = 5;

export interface ResultWriterOptions {
  /**
   * How long results may wait to be written with others (0: each write takes what arrived while
   * the one before ran). Every write is a store call and a transaction: fewer, larger ones cost
   * the store less per result. Urgent results, and FULL_BATCH of them, are written at once.
   */
  readonly gatherMs?: number;
}

export class ResultWriter {
  private queue: DeliveryResult[] = [];
  private writing: Promise<void> | null = null;
  private scheduled = false;
  private gatherTimer: NodeJS.Timeout | null = null;
  /** A queued result must not wait (someone waits for it to be written: package order). */
  private urgent = false;
  /** Shutdown: write everything now. */
  private flushing = false;
  private readonly gatherMs: number;
  private readonly failures = new WeakMap<DeliveryResult, number>();
  /** Writes failed in a row because the store could not be reached (sets the pause). */
  private outageFailures = 0;

  constructor(
    private readonly store: QueueStore,
    private readonly logger: Logger,
    /** Called after each successful write (wakes the claim loop: ordering, capacity). */
    private readonly onWritten: (results: readonly DeliveryResult[]) => void,
    /** Called for a result given up after the store refused it again and again. */
    private readonly onAbandoned: (result: DeliveryResult) => void = () => undefined,
    options: ResultWriterOptions = {},
  ) {
    this.gatherMs = options.gatherMs ?? 0;
  }

  /** `urgent`: written without gathering (another delivery waits for it). */
  push(result: DeliveryResult, urgent = false): void {
    this.queue.push(result);
    if (urgent) this.urgent = true;
    if (this.writing || this.scheduled) return;
    if (this.gathering()) {
      this.writeAfterGathering();
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.write();
    });
  }

  private writeAfterGathering(): void {
    this.gatherTimer ??= setTimeout(() => {
      this.gatherTimer = null;
      void this.write();
    }, this.gatherMs);
  }

  /** Whether what is queued may wait for more. */
  private gathering(): boolean {
    return this.gatherMs > 0 && !this.urgent && !this.flushing && this.queue.length < FULL_BATCH;
  }

  get backlog(): number {
    return this.queue.length;
  }

  private write(): Promise<void> {
    if (this.writing) return this.writing;
    if (this.gatherTimer) {
      clearTimeout(this.gatherTimer);
      this.gatherTimer = null;
    }
    if (this.queue.length === 0) return Promise.resolve();
    this.writing = this.drain().finally(() => {
      this.writing = null;
      // A result pushed after the loop saw an empty queue (or stopped to gather), but before
      // this line, found a write still running and scheduled none: write it, or gather for it.
      if (this.queue.length === 0) return;
      if (this.gathering()) this.writeAfterGathering();
      else void this.write();
    });
    return this.writing;
  }

  /**
   * Writes batch after batch until the queue is empty. A loop, not a write that awaits the next
   * one: such a chain keeps every batch it wrote alive until the queue first runs dry, which
   * under steady load is never.
   */
  private async drain(): Promise<void> {
    do {
      this.urgent = false;
      await this.writeBatch(this.queue.splice(0, MAX_BATCH));
    } while (this.queue.length > 0 && !this.gathering());
  }

  private async writeBatch(batch: DeliveryResult[]): Promise<void> {
    try {
      await this.store.recordResults(batch);
      this.outageFailures = 0;
      this.onWritten(batch);
    } catch (error) {
      if (isStoreUnavailable(error)) {
        await this.waitForStore(batch, error);
        return;
      }
      await this.writeOneByOne(batch, error);
    }
  }

  /**
   * The store cannot be reached (down, restarting, a connection lost mid-write): no row is at
   * fault, so nothing is given up. Everything is kept, in order, and written again after a pause
   * that grows while the outage lasts; the worker renews the leases meanwhile.
   */
  private async waitForStore(batch: DeliveryResult[], error: unknown): Promise<void> {
    this.outageFailures++;
    if (this.outageFailures === 1 || this.outageFailures % 10 === 0) {
      this.logger.warn(
        { err: error, count: batch.length, tries: this.outageFailures },
        'the store is unavailable; delivery results wait to be written',
      );
    }
    this.queue.unshift(...batch);
    const pause = Math.min(MAX_OUTAGE_RETRY_MS, RETRY_MS * 2 ** (this.outageFailures - 1));
    await new Promise((r) => setTimeout(r, pause));
  }

  /**
   * A batch that fails is written row by row, so one result the store refuses (whatever the
   * reason) cannot hold back everyone else's. A row refused MAX_ROW_FAILURES times is given up:
   * its lease runs out and the delivery is tried again, so nothing is lost. When no row goes in,
   * the store itself is down: pause before the next try.
   */
  private async writeOneByOne(batch: DeliveryResult[], error: unknown): Promise<void> {
    let lastError: unknown = error;
    const refused: DeliveryResult[] = [];
    if (batch.length > 1) {
      for (const result of batch) {
        try {
          await this.store.recordResults([result]);
          this.onWritten([result]);
        } catch (rowError) {
          refused.push(result);
          lastError = rowError;
        }
      }
    }
    if (batch.length > 1 && refused.length === batch.length) {
      // Nothing went in: the store is unavailable, not a row. Keep everything and pause.
      this.logger.error(
        { err: lastError, count: batch.length },
        'could not record delivery results; retrying',
      );
      this.queue.unshift(...batch);
      await new Promise((r) => setTimeout(r, RETRY_MS));
      return;
    }
    for (const result of batch.length > 1 ? refused : batch) {
      const failures = (this.failures.get(result) ?? 0) + 1;
      this.failures.set(result, failures);
      if (failures < MAX_ROW_FAILURES) {
        this.queue.unshift(result);
      } else {
        this.logger.error(
          { err: lastError, deliveryId: result.deliveryId },
          'the store keeps refusing a delivery result; the delivery will be tried again',
        );
        this.onAbandoned(result);
      }
    }
    if (batch.length === 1) await new Promise((r) => setTimeout(r, RETRY_MS));
  }

  /** Writes everything queued; used at shutdown. Gives up after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<boolean> {
    this.flushing = true;
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.writing) && Date.now() < deadline) {
      await this.write();
      if (this.writing) await this.writing;
    }
    return this.queue.length === 0;
  }
}
