// What delivery outcomes do to endpoints: a 410 or a sustained run of failures disables one,
// a success ends a run of failures, dead credentials park its work. Called by the workers.

import type { Endpoint } from '../domain/endpoint.js';
import { credentialSubmission } from '../oauth/credential-keys.js';
import type { EndpointId } from '../domain/ids.js';
import type { QueueStore } from '../store/port.js';
import type { EndpointRepository } from './endpoint-repo.js';
import type { OperationalEvents } from './operational-events.js';

export class EndpointHealth {
  constructor(
    private readonly repo: EndpointRepository,
    private readonly ops: OperationalEvents,
    private readonly clock: () => number,
    private readonly disableAfterMs: number,
    /** Holds the deliveries of an endpoint that stops accepting them. */
    private readonly deliveries: QueueStore,
  ) {}

  /**
   * Disables the endpoint and holds its pending deliveries; raises endpoint.disabled once.
   * `url`: the address that asked for it (a 410); when the endpoint has moved elsewhere since,
   * it stays enabled. Returns whether the endpoint is disabled afterwards.
   */
  async disable(id: EndpointId, reason: string, url?: string): Promise<boolean> {
    const result = await this.repo.mutate(
      id,
      (current) =>
        current.state === 'disabled' || (url !== undefined && current.url !== url)
          ? undefined
          : { ...current, state: 'disabled', disabledReason: reason, failingSince: null },
      (before, after) =>
        before.state !== 'disabled' && after.state === 'disabled'
          ? [this.ops.event('endpoint.disabled', after.accountId, { endpointId: id }, { reason })]
          : [],
    );
    if (!result || result.after.state !== 'disabled') return false;
    this.ops.stored(result.raised);
    await this.deliveries.holdDeliveries(id, this.clock());
    return true;
  }

  /**
   * Starts or continues a run of failures; disables the endpoint once the run is long enough.
   * Decided on the stored endpoint, so a success recorded meanwhile ends the run first.
   */
  async failed(endpoint: Endpoint, at: number): Promise<void> {
    let since: number | null = null;
    await this.repo.mutate(endpoint.id, (current) => {
      since = current.failingSince;
      return current.failingSince === null ? { ...current, failingSince: at } : undefined;
    });
    if (since !== null && at - since >= this.disableAfterMs) {
      const days = Math.round((at - since) / 86_400_000);
      await this.disable(endpoint.id, `failing without a success for ${days} days`);
    }
  }

  async succeeded(endpoint: Endpoint): Promise<void> {
    if (endpoint.failingSince === null) return;
    await this.repo.mutate(endpoint.id, (current) =>
      current.failingSince === null ? undefined : { ...current, failingSince: null },
    );
  }

  /**
   * Dead credentials: never try them again until someone reconnects; park the work. When the
   * failed `credential` submission is no longer the endpoint's (someone reconnected meanwhile),
   * the new credentials are left alone. Answers whether the endpoint's work is parked now.
   */
  async requireReauthorization(
    id: EndpointId,
    reason: string,
    credential?: string,
  ): Promise<boolean> {
    const result = await this.repo.mutate(
      id,
      (current) =>
        current.authStatus === 'reauthorization_required' ||
        (credential !== undefined && credentialSubmission(current) !== credential)
          ? undefined
          : { ...current, authStatus: 'reauthorization_required' },
      (before, after) =>
        before.authStatus !== 'reauthorization_required' &&
        after.authStatus === 'reauthorization_required'
          ? [
              this.ops.event(
                'endpoint.reauthorization_required',
                after.accountId,
                { endpointId: id },
                { reason },
              ),
            ]
          : [],
    );
    if (!result || result.after.authStatus !== 'reauthorization_required') return false;
    this.ops.stored(result.raised);
    await this.deliveries.holdDeliveries(id, this.clock());
    return true;
  }

  /** An OAuth credential worked: unverified becomes ok. */
  async credentialsWork(endpoint: Endpoint): Promise<void> {
    if (endpoint.authStatus !== 'unverified') return;
    await this.repo.mutate(endpoint.id, (current) =>
      current.authStatus === 'unverified' ? { ...current, authStatus: 'ok' } : undefined,
    );
  }
}
