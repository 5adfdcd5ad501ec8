// Counts by key that forget a key once its count is back to zero (the worker's reservations per
// endpoint, and pending deliveries still being committed per due time).

export class Tally<K> {
  private readonly counts = new Map<K, number>();
  private sum = 0;

  get(key: K): number {
    return this.counts.get(key) ?? 0;
  }

  /** The counts of every key together. */
  get total(): number {
    return this.sum;
  }

  add(key: K, n = 1): void {
    this.counts.set(key, this.get(key) + n);
    this.sum += n;
  }

  remove(key: K, n = 1): void {
    this.sum -= n;
    const left = this.get(key) - n;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.counts.keys();
  }
}
