// `POST /v1/endpoints/{id}/test`: send a test event now and report what the listener answered.

import { normaliseEvent } from '../domain/events.js';
import { newId, type AccountId, type EndpointId } from '../domain/ids.js';
import type { ProbeResult } from '../delivery/dispatcher.js';
import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointRepository } from './endpoint-repo.js';

export type Probe = (endpoint: Endpoint, eventId: string, payload: string) => Promise<ProbeResult>;

export class EndpointTester {
  constructor(
    private readonly repo: EndpointRepository,
    private readonly probe: Probe,
    private readonly clock: () => number,
  ) {}

  async test(
    accountId: AccountId,
    id: EndpointId,
    event: Record<string, unknown>,
  ): Promise<ProbeResult & { eventId: string; event: unknown }> {
    const endpoint = await this.repo.get(accountId, id);
    const now = this.clock();
    const normalised = normaliseEvent(
      { name: 'HERALD_TEST', packageId: 'herald-test-package', sessionUser: 'herald', ...event },
      now,
    );
    const eventId = newId('event', now);
    const result = await this.probe(endpoint, eventId, normalised.payload);
    return { ...result, eventId, event: JSON.parse(normalised.payload) as unknown };
  }
}
