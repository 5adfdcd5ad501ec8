// Writes delivery results in batches: everything finished while one write runs goes into the
// next single transaction. A failed write is retried; until it lands the deliveries stay leased,
// so at worst they are delivered again (at least once), never lost.

import type { Logger } from '../observability/logger.js';
import type { DeliveryResult, Store } from '../store/port.js';

const MAX_BATCH = 1000;
const RETRY_MS = 500;

export class ResultWriter {
  private queue: DeliveryResult[] = [];
  private writing: Promise<void> | null = null;
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    /** Called after each successful write (wakes the claim loop: ordering, capacity). */
    private readonly onWritten: (results: readonly DeliveryResult[]) => void,
  ) {}

  push(result: DeliveryResult): void {
    this.queue.push(result);
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.write();
      });
    }
  }

  get backlog(): number {
    return this.queue.length;
  }

  private write(): Promise<void> {
    if (this.writing) return this.writing;
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue.splice(0, MAX_BATCH);
    this.writing = (async () => {
      try {
        await this.store.recordResults(batch);
        this.onWritten(batch);
      } catch (error) {
        this.logger.error(
          { err: error, count: batch.length },
          'could not record delivery results; retrying',
        );
        this.queue.unshift(...batch);
        await new Promise((r) => setTimeout(r, RETRY_MS));
      } finally {
        this.writing = null;
      }
      if (this.queue.length > 0) await this.write();
    })();
    return this.writing;
  }

  /** Writes everything queued; used at shutdown. Gives up after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.writing) && Date.now() < deadline) {
      await this.write();
      if (this.writing) await this.writing;
    }
    return this.queue.length === 0;
  }
}
