// A small cache of values read from the store that may be up to `ttlMs` old, shared by every
// request of a process (the routes of an account's events, the principal of an API key). Two
// things a plain map gets wrong under load:
// - When an entry expires while many requests arrive (128 publishers at once), each would read
//   the store: here they share one read (the first starts it, the others await it).
// - A change (an endpoint edited, a key revoked) drops the entry; a read that began before it
//   must not put the old value back once it lands, or a revoked key would pass for another
//   `ttlMs`. Every change bumps a generation, and a read only keeps its value if none happened.

interface Entry<V> {
  readonly value: Promise<V>;
  /** Until when the value may be used; Infinity while its read is in flight. */
  until: number;
}

export class ExpiringCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  /** Bumped by every `forget`: a read that began before it does not keep what it found. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number,
    /** At this many entries, all are dropped (a bound on memory, not an eviction policy). */
    private readonly maxEntries = Infinity,
  ) {}

  /** The cached value of `key`, or what `load` reads (once, however many ask meanwhile). */
  get(key: K, load: () => Promise<V>): Promise<V> {
    // A value is as old as its read's start: a change made elsewhere shows within ttlMs of it.
    const now = this.clock();
    const cached = this.entries.get(key);
    if (cached && cached.until > now) return cached.value;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const generation = this.generation;
    const value = load();
    const entry: Entry<V> = { value, until: Infinity };
    this.entries.set(key, entry);
    value.then(
      () => {
        if (this.entries.get(key) !== entry) return;
        // Changed while it was read: the next request reads again.
        if (this.generation !== generation) this.entries.delete(key);
        else entry.until = now + this.ttlMs;
      },
      () => {
        // A failed read is not cached: the next request tries again.
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return value;
  }

  /** Drops `key`, and keeps any read now in flight from caching what it finds. */
  forget(key: K): void {
    this.generation++;
    this.entries.delete(key);
  }
}
