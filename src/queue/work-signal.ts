// Wakes an idle worker in this process when work may be available, so it does not wait for the
// next poll. A notify() while nobody waits is remembered, so a wake-up is never lost between
// the worker's last look and its next wait.

export class WorkSignal {
  private waiter: (() => void) | null = null;
  private pending = false;

  notify(): void {
    if (this.waiter) this.waiter();
    else this.pending = true;
  }

  /** Resolves on the next notify() (or at once if one came since the last wait), or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.waiter === done) this.waiter = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiter?.();
      this.waiter = done;
    });
  }
}
