// The sandbox child's methods and the figures it reports (shared by both sides).

import type { SandboxOptions } from '../../src/sandbox/index.js';

export type SandboxChildOptions = Pick<
  SandboxOptions,
  'rotation' | 'tokenLatencyMs' | 'listenerLatencyMs' | 'concurrentRefresh'
>;

export interface SandboxSession {
  /** Distinct deliveries (by `webhook-id`) that complete the session. */
  readonly expect: number;
  /** Expire every access token when this many distinct deliveries have been accepted. */
  readonly expireAt: readonly number[];
}

/** Counts since the last reset. */
export interface SandboxCounts {
  readonly unique: number;
  readonly accepted: number;
  readonly duplicates: number;
  /** Acceptance of the first and last distinct delivery (ms, the sandbox's Date.now clock). */
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  readonly expiries: number;
  readonly tokenRequests: number;
  /** Deliveries the Apex-like listener refused with 401 INVALID_SESSION_ID. */
  readonly rejected401: number;
  readonly concurrentRefreshRejections: number;
  readonly maxConcurrentTokenRequests: number;
}

export type SandboxApi = {
  issueRefreshToken(): string;
  reset(session: SandboxSession): void;
  stats(): SandboxCounts;
  waitDone(timeoutMs: number): Promise<SandboxCounts>;
};

export interface SandboxReady {
  readonly url: string;
  readonly clientId: string;
}
