// What a process keeps per endpoint (the token manager's cache with its decrypted bearer header,
// the worker's rate slot and copy of the endpoint, metric series labelled with its id) goes when
// the endpoint is deleted: at once in the process that deleted it, and in every other process
// sharing the store (PostgreSQL) at its next sweep, which asks the store which of the endpoints
// it keeps something for still exist. A deleted endpoint's deliveries are deleted with it, so
// nothing else would ever make another process look at it again.

import type { EndpointId } from '../domain/ids.js';
import type { EndpointStore } from '../store/port.js';

/** A part of the process that keeps something per endpoint. */
export interface ResidueHolder {
  /** The endpoints it keeps something for. */
  endpointsHeld(): Iterable<EndpointId>;
  /** Drops what it keeps for the endpoint. */
  forget(id: EndpointId): void;
}

export class EndpointResidue {
  private readonly holders = new Map<string, ResidueHolder>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly store: EndpointStore) {}

  /** Sweeps every `intervalMs` until `stop`; a failed sweep is reported and tried next time. */
  start(intervalMs: number, onError: (error: unknown) => void): void {
    this.timer ??= setInterval(() => void this.sweep().catch(onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** `name` says which part it is (tests and diagnostics read it in `held`). */
  add(name: string, holder: ResidueHolder): void {
    this.holders.set(name, holder);
  }

  /** The endpoints each part keeps something for, by part. */
  held(): Record<string, EndpointId[]> {
    const out: Record<string, EndpointId[]> = {};
    for (const [name, holder] of this.holders) out[name] = [...holder.endpointsHeld()];
    return out;
  }

  /** The endpoint was deleted: every part drops what it keeps for it. */
  forget(id: EndpointId): void {
    for (const holder of this.holders.values()) holder.forget(id);
  }

  /** Forgets the endpoints this process keeps something for that no longer exist; how many. */
  async sweep(): Promise<number> {
    const held = new Set<EndpointId>();
    for (const holder of this.holders.values()) {
      for (const id of holder.endpointsHeld()) held.add(id);
    }
    if (held.size === 0) return 0;
    const existing = new Set(await this.store.existingEndpoints([...held]));
    let forgotten = 0;
    for (const id of held) {
      if (existing.has(id)) continue;
      this.forget(id);
      forgotten++;
    }
    return forgotten;
  }
}
