// Backpressure for publishing: how many bytes of request bodies may be read, parsed and on their
// way to the store at once. A parsed event takes several times its JSON size in memory, and a
// batch may be 32 MiB, so without a bound a burst of concurrent batches grows the heap by
// hundreds of MiB. Requests beyond the budget wait their turn (first come, first served; their
// bodies stay in the socket) instead of being refused. Small requests (single events) fit many
// at once, so concurrent publishers still share one commit.

/** Bytes one request holds as its body arrives (`ByteBudget.open`). */
export interface Reservation {
  /** Waits until `bytes` more fit, then holds them; the oldest open reservation never waits. */
  grow(bytes: number): Promise<void>;
  /** Gives back everything it holds. */
  release(): void;
}

interface Waiter {
  readonly bytes: number;
  readonly owner: Reservation | null;
  readonly admit: () => void;
}

export class ByteBudget {
  private used = 0;
  private readonly waiting: Waiter[] = [];
  /** Open reservations, oldest first. */
  private readonly reservations = new Set<Reservation>();

  constructor(private readonly capacity: number) {}

  /**
   * Waits until `bytes` fit (a request larger than the whole budget is admitted alone), then
   * returns the function that gives them back.
   */
  async acquire(bytes: number): Promise<() => void> {
    if (this.waiting.length > 0 || !this.fits(bytes)) {
      await new Promise<void>((admit) => this.waiting.push({ bytes, owner: null, admit }));
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

  /**
   * A reservation that grows as a body arrives, for bodies too large to reserve whole: one that
   * trickles in holds only what has come. The oldest open reservation is never made to wait, so
   * however many bodies are half-read, one of them always finishes and gives its bytes back.
   */
  open(): Reservation {
    let held = 0;
    let released = false;
    const reservation: Reservation = {
      grow: (bytes) => {
        if (released) return Promise.resolve();
        const take = () => {
          if (released) return;
          this.used += bytes;
          held += bytes;
        };
        if (this.isOldest(reservation) || (this.waiting.length === 0 && this.fits(bytes))) {
          take();
          return Promise.resolve();
        }
        return new Promise<void>((admit) =>
          this.waiting.push({ bytes, owner: reservation, admit: () => (take(), admit()) }),
        );
      },
      release: () => {
        if (released) return;
        released = true;
        this.reservations.delete(reservation);
        this.used -= held;
        held = 0;
        // A read still waiting for room (its deadline passed) goes on, counting nothing.
        for (let i = this.waiting.length - 1; i >= 0; i--) {
          if (this.waiting[i]!.owner === reservation) this.waiting.splice(i, 1)[0]!.admit();
        }
        this.admitWaiting();
      },
    };
    this.reservations.add(reservation);
    return reservation;
  }

  get inUse(): number {
    return this.used;
  }

  private isOldest(reservation: Reservation): boolean {
    return this.reservations.values().next().value === reservation;
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacity;
  }

  private admitWaiting(): void {
    // The oldest reservation goes first, wherever it waits: it is the one sure to finish.
    const oldest = this.waiting.findIndex((w) => w.owner !== null && this.isOldest(w.owner));
    if (oldest >= 0) this.waiting.splice(oldest, 1)[0]!.admit();
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      if (next.owner === null) this.used += next.bytes;
      next.admit();
    }
  }
}
