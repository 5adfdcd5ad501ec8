// Loads and changes endpoints with their secrets opened, using the row version as a
// compare-and-set so concurrent changes (API, worker, another process) never overwrite each other.

import { NotFoundError } from '../errors.js';
import type { Endpoint, Origin } from '../domain/endpoint.js';
import type { AccountId, EndpointId } from '../domain/ids.js';
import type { EndpointStore, OperationalEventRecord } from '../store/port.js';
import { openEndpoint, sealEndpoint } from './endpoint-codec.js';
import type { SecretBox } from './secret-box.js';

/**
 * Listeners for endpoint changes in this process (caches of routing tables and endpoints), with
 * the version the change wrote (none for a delete).
 */
export type EndpointChangeListener = (
  accountId: AccountId,
  id: EndpointId,
  version: number | null,
) => void;

export class EndpointRepository {
  private readonly listeners: EndpointChangeListener[] = [];
  private readonly deleteListeners: Array<(id: EndpointId) => void> = [];

  constructor(
    private readonly store: EndpointStore,
    readonly box: SecretBox,
    private readonly clock: () => number,
  ) {}

  onChange(listener: EndpointChangeListener): void {
    this.listeners.push(listener);
  }

  changed(accountId: AccountId, id: EndpointId, version: number | null): void {
    for (const listener of this.listeners) listener(accountId, id, version);
  }

  /** Listeners for deletions in this process: what is kept per endpoint goes with it. */
  onDelete(listener: (id: EndpointId) => void): void {
    this.deleteListeners.push(listener);
  }

  deleted(accountId: AccountId, id: EndpointId): void {
    this.changed(accountId, id, null);
    for (const listener of this.deleteListeners) listener(id);
  }

  async find(id: EndpointId): Promise<Endpoint | undefined> {
    const row = await this.store.getEndpoint(id);
    return row && openEndpoint(row, this.box);
  }

  /** The endpoint if it belongs to the account; a 404 otherwise (never reveals other accounts). */
  async get(accountId: AccountId, id: EndpointId): Promise<Endpoint> {
    const endpoint = await this.find(id);
    if (!endpoint || endpoint.accountId !== accountId) throw new NotFoundError('Endpoint', id);
    return endpoint;
  }

  /** The account's endpoint in the OneSpan configuration slot `origin`, if it has one. */
  findByOrigin(accountId: AccountId, origin: Origin): Promise<Endpoint | undefined> {
    return this.store
      .findEndpointByOrigin(accountId, origin)
      .then((row) => (row ? this.get(accountId, row.id) : undefined));
  }

  async list(accountId: AccountId): Promise<Endpoint[]> {
    return (await this.store.listEndpoints(accountId)).map((row) => openEndpoint(row, this.box));
  }

  async insert(endpoint: Endpoint): Promise<void> {
    await this.store.insertEndpoint(sealEndpoint(endpoint, this.box));
    this.changed(endpoint.accountId, endpoint.id, endpoint.version);
  }

  /** Deletes the endpoint with its deliveries; false when there was none. See `deleted`. */
  delete(accountId: AccountId, id: EndpointId): Promise<boolean> {
    return this.store.deleteEndpoint(accountId, id);
  }

  /**
   * Applies `change` to the current endpoint and writes it if nobody changed it meanwhile,
   * retrying on conflicts. `change` returns undefined to leave the endpoint as it is. `raise`
   * names the operational events the change raises: stored in the same transaction as the
   * change, so that a change is never made without them, nor they without it.
   */
  async mutate(
    id: EndpointId,
    change: (current: Endpoint) => Endpoint | undefined,
    raise?: (before: Endpoint, after: Endpoint) => readonly OperationalEventRecord[],
  ): Promise<
    { before: Endpoint; after: Endpoint; raised: readonly OperationalEventRecord[] } | undefined
  > {
    for (let tries = 0; tries < 20; tries++) {
      const before = await this.find(id);
      if (!before) return undefined;
      const next = change(before);
      if (!next) return { before, after: before, raised: [] };
      const after: Endpoint = { ...next, version: before.version + 1, updatedAt: this.clock() };
      const raised = raise ? raise(before, after) : [];
      if (await this.store.updateEndpoint(sealEndpoint(after, this.box), raised)) {
        this.changed(after.accountId, after.id, after.version);
        return { before, after, raised };
      }
    }
    throw new Error(`endpoint ${id} keeps changing under concurrent updates`);
  }
}
