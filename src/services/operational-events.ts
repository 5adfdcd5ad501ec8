// Operational events: what an account must hear about out of band (a delivery exhausted its
// retries, an endpoint was disabled, credentials need re-authorization). Each is stored with what
// produced it where one write produces it (an endpoint change, a delivery result), on its own
// otherwise; the relay (operations-relay.ts) then fans it out to subscribed endpoints and email.

import { newOperationalEvent, type OperationalEventType } from '../domain/operational.js';
import type { AccountId, DeliveryId, EndpointId } from '../domain/ids.js';
import type { Logger } from '../observability/logger.js';
import type { OperationalEventRecord, OperationsStore, Page } from '../store/port.js';
import { isStoreUnavailable } from '../domain/store-unavailable.js';

/** How often an event the store could not take is offered again, and for how long. */
const STORE_RETRY_MS = 2000;
const STORE_RETRY_FOR_MS = 3600_000;

export class OperationalEvents {
  constructor(
    private readonly store: OperationsStore,
    private readonly logger: Logger,
    private readonly clock: () => number,
    /** Told when events were stored (the relay fans them out soon). */
    private readonly onStored: () => void,
  ) {}

  /** An event to store with the change that raises it (EndpointRepository.mutate's `raise`). */
  event(
    type: OperationalEventType,
    accountId: AccountId,
    refs: { endpointId?: EndpointId; deliveryId?: DeliveryId },
    data: Record<string, unknown> = {},
  ): OperationalEventRecord {
    return newOperationalEvent(type, accountId, refs, data, this.clock());
  }

  /** Events stored by some other write: fan them out soon. */
  stored(events: readonly OperationalEventRecord[]): void {
    if (events.length > 0) this.onStored();
  }

  /**
   * Raises an event that no other write carries. While the store cannot be reached it is kept
   * and offered again for up to an hour (its log line says what happened meanwhile).
   */
  async raise(
    type: OperationalEventType,
    accountId: AccountId,
    refs: { endpointId?: EndpointId; deliveryId?: DeliveryId },
    data: Record<string, unknown> = {},
  ): Promise<void> {
    const event = this.event(type, accountId, refs, data);
    const giveUpAt = event.createdAt + STORE_RETRY_FOR_MS;
    for (;;) {
      try {
        await this.store.insertOperationalEvent(event);
        this.onStored();
        return;
      } catch (error) {
        const again = isStoreUnavailable(error) && this.clock() < giveUpAt;
        this.logger.error(
          { err: error, op: type, accountId, endpointId: event.endpointId, ...data },
          again
            ? 'could not store an operational event; trying again'
            : 'could not store an operational event',
        );
        if (!again) return;
        await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_MS).unref());
      }
    }
  }

  list(
    accountId: AccountId,
    cursor: string | null,
    limit: number,
  ): Promise<Page<OperationalEventRecord>> {
    return this.store.listOperationalEvents(accountId, cursor, Math.min(Math.max(limit, 1), 500));
  }
}
