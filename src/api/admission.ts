// Backpressure for publishing: how many bytes of request bodies may be read, parsed and on their
// way to the store at once. A parsed event takes several times its JSON size in memory, and a
// batch may be 32 MiB, so without a bound a burst of concurrent batches grows the heap by
// hundreds of MiB. Requests beyond the budget wait their turn (first come, first served; their
// bodies stay in the socket) instead of being refused. Small requests (single events) fit many
// at once, so concurrent publishers still share one commit.

export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; admit: () => void }> = [];

  constructor(private readonly capacity: number) {}

  /**
   * Waits until `bytes` fit (a request larger than the whole budget is admitted alone), then
   * returns the function that gives them back.
   */
  async acquire(bytes: number): Promise<() => void> {
    if (this.waiting.length > 0 || !this.fits(bytes)) {
      await new Promise<void>((admit) => this.waiting.push({ bytes, admit }));
    } else {
      this.used += bytes;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.admitWaiting();
    };
  }

  get inUse(): number {
    return this.used;
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacity;
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.admit();
    }
  }
}
