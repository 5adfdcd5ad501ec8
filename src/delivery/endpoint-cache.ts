// The worker's copy of the endpoints it delivers to, with secrets opened. A claimed delivery
// carries the endpoint's current version, so a stale copy is reloaded before it is used.

import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';

export type LoadEndpoint = (id: EndpointId) => Promise<Endpoint | undefined>;

export class EndpointCache {
  private readonly entries = new Map<EndpointId, Endpoint>();
  private readonly loading = new Map<EndpointId, Promise<Endpoint | undefined>>();

  constructor(private readonly load: LoadEndpoint) {}

  /** The endpoint at `minVersion` or newer; undefined when it no longer exists. */
  async get(id: EndpointId, minVersion: number): Promise<Endpoint | undefined> {
    for (let tries = 0; ; tries++) {
      const cached = this.entries.get(id);
      if (cached && cached.version >= minVersion) return cached;
      let pending = this.loading.get(id);
      if (!pending) {
        pending = this.load(id).finally(() => this.loading.delete(id));
        this.loading.set(id, pending);
      }
      const fresh = await pending;
      if (!fresh) {
        this.entries.delete(id);
        return undefined;
      }
      const current = this.entries.get(id);
      if (!current || current.version < fresh.version) this.entries.set(id, fresh);
      // A load that started before the change can return the old version: load once more.
      if (fresh.version >= minVersion || tries >= 2) return fresh;
    }
  }

  invalidate(id: EndpointId): void {
    this.entries.delete(id);
  }

  /** The endpoints it holds a copy of (secrets opened). */
  endpointsHeld(): Iterable<EndpointId> {
    return this.entries.keys();
  }
}
