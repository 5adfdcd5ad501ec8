// The store's lifecycle: what every store is and declares, whatever parts of it a caller uses.

export interface StoreCapabilities {
  /** Several processes may lease work from this store at the same time. */
  readonly concurrentWorkers: boolean;
  /** The store can wake idle workers in other processes when work arrives. */
  readonly crossProcessWakeups: boolean;
  /** Only one process uses the store: leases left by a previous run can be reclaimed at once. */
  readonly singleProcess: boolean;
}

export interface MigrationReport {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly string[];
}

/** What a store can do, for the callers that branch on it. */
export interface CapableStore {
  readonly capabilities: StoreCapabilities;
}

export interface StoreLifecycle extends CapableStore {
  /** Human description for start-up output, e.g. `SQLite at .herald/herald.db`. Never a password. */
  readonly description: string;

  migrate(): Promise<MigrationReport>;
  close(): Promise<void>;
  /** One trivial round trip to the store (readiness): resolves when the store answers. */
  ping(): Promise<void>;
}
