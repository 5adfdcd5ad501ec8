// Reading deliveries and events, and asking for redelivery.

import { NotFoundError } from '../errors.js';
import type { AccountId, DeliveryId, EventId } from '../domain/ids.js';
import type {
  AttemptRecord,
  DeliveryFilter,
  DeliveryRecord,
  EventFilter,
  EventRecord,
  IngestStore,
  Page,
  QueueStore,
} from '../store/port.js';
import type { WorkSignal } from '../queue/work-signal.js';

export const MAX_PAGE = 500;

export class DeliveryService {
  constructor(
    private readonly store: QueueStore & IngestStore,
    private readonly clock: () => number,
    private readonly signal: WorkSignal,
  ) {}

  list(
    filter: DeliveryFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<DeliveryRecord>> {
    return this.store.listDeliveries(filter, cursor, Math.min(Math.max(limit, 1), MAX_PAGE));
  }

  async get(
    accountId: AccountId,
    id: DeliveryId,
  ): Promise<{ delivery: DeliveryRecord; attempts: AttemptRecord[] }> {
    const delivery = await this.store.getDelivery(accountId, id);
    if (!delivery) throw new NotFoundError('Delivery', id);
    return { delivery, attempts: await this.store.listAttempts(id) };
  }

  /** Makes the delivery due now (a new retry cycle for failed, held or succeeded ones). */
  async retry(accountId: AccountId, id: DeliveryId): Promise<DeliveryRecord> {
    const delivery = await this.store.redeliver(accountId, id, this.clock());
    if (!delivery) throw new NotFoundError('Delivery', id);
    this.signal.notify();
    return delivery;
  }

  /** The account's events, newest first, by package id, name and time received. */
  searchEvents(
    filter: EventFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    return this.store.searchEvents(filter, cursor, Math.min(Math.max(limit, 1), MAX_PAGE));
  }

  async event(
    accountId: AccountId,
    id: EventId,
  ): Promise<{ event: EventRecord; deliveries: readonly DeliveryRecord[] }> {
    const event = await this.store.getEvent(accountId, id);
    if (!event) throw new NotFoundError('Event', id);
    const page = await this.store.listDeliveries({ accountId, eventId: id }, null, MAX_PAGE);
    return { event, deliveries: page.data };
  }
}
