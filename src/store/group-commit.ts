// Group commit of publish batches, for every store's `ingest`: batches that arrive in the same
// turn, or while the previous group commits, go into the next single transaction (one commit,
// one fsync, for many publish requests). Groups commit one after another, in arrival order.
//
// Each batch is added to the waiting group at once, in the store's own form: the embedded
// store's main side encodes it for its thread there, so the caller's objects can be collected
// while the batch waits and commits.

import type { IngestBatch, IngestOutcome } from './port.js';

export interface GroupCommitOps<G> {
  /** A new, empty group. */
  create(): G;
  /**
   * Adds the batches to the group. Throws, leaving the group as it was, when they cannot be
   * added: then only this call fails.
   */
  add(group: G, batches: readonly IngestBatch[]): void;
  /** Commits the group in one transaction: one outcome per batch, in the order added. */
  commit(group: G): Promise<IngestOutcome[]>;
}

interface Waiter {
  readonly count: number;
  resolve(outcomes: IngestOutcome[]): void;
  reject(error: unknown): void;
}

export class GroupCommit<G> {
  private waiting: { readonly group: G; readonly waiters: Waiter[] } | null = null;
  private committing = 0;
  /** Resolves the callers of `close` once no group waits or commits. */
  private idle: Array<() => void> = [];
  private closed = false;
  private scheduled = false;

  constructor(private readonly ops: GroupCommitOps<G>) {}

  /** For a store that commits the batches as they are: the group keeps them until it commits. */
  static ofBatches(
    commit: (batches: IngestBatch[]) => Promise<IngestOutcome[]>,
  ): GroupCommit<IngestBatch[]> {
    return new GroupCommit<IngestBatch[]>({
      create: () => [],
      add: (group, batches) => {
        for (const batch of batches) group.push(batch);
      },
      commit,
    });
  }

  /** Commits the batches with whatever else arrives meanwhile; one outcome per batch. */
  submit(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    if (this.closed) return Promise.reject(new Error('The store is closed'));
    const waiting = (this.waiting ??= { group: this.ops.create(), waiters: [] });
    try {
      this.ops.add(waiting.group, batches);
    } catch (error) {
      if (waiting.waiters.length === 0) this.waiting = null;
      return Promise.reject(error as Error);
    }
    // Closures made here must not see `batches`: they would keep the caller's objects alive.
    const count = batches.length;
    const outcomes = new Promise<IngestOutcome[]>((resolve, reject) => {
      waiting.waiters.push({ count, resolve, reject });
    });
    if (this.committing === 0 && !this.scheduled) {
      // The rest of this turn's publish requests join the group.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.committing === 0) this.flush();
      });
    }
    return outcomes;
  }

  /**
   * Commits the waiting group now, even while another one commits: for a store whose calls run
   * in the order they were made, before a call of another kind.
   */
  flush(): void {
    if (!this.waiting) return;
    // Only the waiters are kept while the group commits, not the group itself.
    const { group, waiters } = this.waiting;
    this.waiting = null;
    this.committing++;
    let committed: Promise<IngestOutcome[]>;
    try {
      committed = this.ops.commit(group);
    } catch (error) {
      committed = Promise.reject(error as Error);
    }
    committed
      .then(
        (outcomes) => {
          let at = 0;
          for (const waiter of waiters) {
            waiter.resolve(outcomes.slice(at, at + waiter.count));
            at += waiter.count;
          }
        },
        (error: unknown) => {
          for (const waiter of waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        this.committing--;
        if (this.committing > 0) return;
        this.flush();
        if (this.committing === 0) for (const done of this.idle.splice(0)) done();
      });
  }

  /**
   * Takes no more batches, commits the waiting group (after the one committing, if any), and
   * resolves once every group has finished committing.
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.committing === 0) this.flush();
    if (this.committing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Fails the group that has not been sent to commit (the store is closing). */
  abandon(error: Error): void {
    const waiting = this.waiting;
    this.waiting = null;
    for (const waiter of waiting?.waiters ?? []) waiter.reject(error);
  }
}
