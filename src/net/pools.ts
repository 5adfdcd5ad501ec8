// The per-origin connection pools behind undici's Agent for OAuth token requests (deliveries
// have their own client, h1/).
//
// Why not undici's default factory: in undici 7 the Agent tracks each origin's connections by
// origin *string* and closes the origin's pool when the count drops to zero. A pool it has
// already replaced keeps emitting 'connect'/'disconnect' while it winds down, and those events
// are then counted against (and close) its successor. After any dropped connection (a timeout,
// a body too long to drain, a listener that closes) every following request to that origin
// opens a fresh socket, and keep-alive is lost until traffic pauses. Here a pool only reports
// connection events while it is the newest pool for its origin, so the Agent's bookkeeping only
// ever sees the pool it actually holds.

import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

type PoolOptions = ConstructorParameters<typeof Pool>[1];

const CONNECTION_EVENTS = new Set<string | symbol>(['connect', 'disconnect', 'connectionError']);

export function createPoolFactory(): (origin: string | URL, options: object) => Dispatcher {
  // Weak values: a pool the Agent has closed and dropped must not be kept alive by this map.
  const newest = new Map<string, WeakRef<Pool>>();

  class OriginPool extends Pool {
    readonly #key: string;

    constructor(key: string, options: PoolOptions) {
      super(key, options);
      this.#key = key;
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (CONNECTION_EVENTS.has(event) && newest.get(this.#key)?.deref() !== this) return false;
      return Reflect.apply(super.emit, this, [event, ...args]) as boolean;
    }
  }

  return (origin, options) => {
    const key = String(origin);
    const pool = new OriginPool(key, options as PoolOptions);
    newest.set(key, new WeakRef(pool));
    return pool;
  };
}
