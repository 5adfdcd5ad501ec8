// What delivery outcomes do to endpoints: a 410 or a sustained run of failures disables one,
// a success ends a run of failures, dead credentials park its work. Called by the workers.

import type { Endpoint } from '../domain/endpoint.js';
import type { AccountId, DeliveryId, EndpointId } from '../domain/ids.js';
import type { EndpointRepository } from './endpoint-repo.js';
import type { OperationalEvents } from './operational-events.js';

export class EndpointHealth {
  constructor(
    private readonly repo: EndpointRepository,
    private readonly ops: OperationalEvents,
    private readonly clock: () => number,
    private readonly disableAfterMs: number,
  ) {}

  /** Disables the endpoint and holds its pending deliveries; raises endpoint.disabled once. */
  async disable(id: EndpointId, reason: string): Promise<void> {
    const result = await this.repo.mutate(id, (current) =>
      current.state === 'disabled'
        ? undefined
        : { ...current, state: 'disabled', disabledReason: reason, failingSince: null },
    );
    if (!result) return;
    await this.repo.store.holdDeliveries(id, this.clock());
    if (result.before.state !== 'disabled') {
      await this.ops.raise(
        'endpoint.disabled',
        result.after.accountId,
        { endpointId: id },
        { reason },
      );
    }
  }

  /** Starts or continues a run of failures; disables the endpoint once the run is long enough. */
  async failed(endpoint: Endpoint, at: number): Promise<void> {
    if (endpoint.failingSince === null) {
      await this.repo.mutate(endpoint.id, (current) =>
        current.failingSince === null ? { ...current, failingSince: at } : undefined,
      );
      return;
    }
    if (at - endpoint.failingSince >= this.disableAfterMs) {
      const days = Math.round((at - endpoint.failingSince) / 86_400_000);
      await this.disable(endpoint.id, `failing without a success for ${days} days`);
    }
  }

  async succeeded(endpoint: Endpoint): Promise<void> {
    if (endpoint.failingSince === null) return;
    await this.repo.mutate(endpoint.id, (current) =>
      current.failingSince === null ? undefined : { ...current, failingSince: null },
    );
  }

  /** Dead credentials: never try them again until someone reconnects; park the work. */
  async requireReauthorization(id: EndpointId, reason: string): Promise<void> {
    const result = await this.repo.mutate(id, (current) =>
      current.authStatus === 'reauthorization_required'
        ? undefined
        : { ...current, authStatus: 'reauthorization_required' },
    );
    if (!result) return;
    await this.repo.store.holdDeliveries(id, this.clock());
    if (result.before.authStatus !== 'reauthorization_required') {
      await this.ops.raise(
        'endpoint.reauthorization_required',
        result.after.accountId,
        { endpointId: id },
        { reason },
      );
    }
  }

  /** An OAuth credential worked: unverified becomes ok. */
  async credentialsWork(endpoint: Endpoint): Promise<void> {
    if (endpoint.authStatus !== 'unverified') return;
    await this.repo.mutate(endpoint.id, (current) =>
      current.authStatus === 'unverified' ? { ...current, authStatus: 'ok' } : undefined,
    );
  }

  async exhausted(
    accountId: AccountId,
    endpointId: EndpointId,
    deliveryId: DeliveryId,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.ops.raise('delivery.exhausted', accountId, { endpointId, deliveryId }, data);
  }
}
