// Operational events: what an account must hear about out of band (a delivery exhausted its
// retries, an endpoint was disabled, credentials need re-authorization). Each one is stored
// (listed by the API), logged, counted, and optionally POSTed to the operations webhook.

import { newId, type AccountId, type DeliveryId, type EndpointId } from '../domain/ids.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { OperationalEventRecord, Page, Store } from '../store/port.js';

export type OperationalEventType =
  | 'delivery.exhausted'
  | 'endpoint.disabled'
  | 'endpoint.enabled'
  | 'endpoint.reauthorization_required'
  | 'endpoint.credentials_replaced'
  | 'oauth.persist_failed';

/** Posts an operational event to the operator's webhook; never throws. */
export type OperationsWebhook = (event: Record<string, unknown>) => Promise<void>;

export class OperationalEvents {
  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly clock: () => number,
    private readonly webhook: OperationsWebhook | null,
  ) {}

  async raise(
    type: OperationalEventType,
    accountId: AccountId,
    refs: { endpointId?: EndpointId; deliveryId?: DeliveryId },
    data: Record<string, unknown> = {},
  ): Promise<void> {
    const record: OperationalEventRecord = {
      id: newId('operational', this.clock()),
      accountId,
      type,
      endpointId: refs.endpointId ?? null,
      deliveryId: refs.deliveryId ?? null,
      data,
      createdAt: this.clock(),
    };
    this.metrics.operationalEvents.inc({ type });
    this.logger.warn(
      {
        op: type,
        accountId,
        endpointId: record.endpointId,
        deliveryId: record.deliveryId,
        ...data,
      },
      `operational event ${type}`,
    );
    try {
      await this.store.insertOperationalEvent(record);
    } catch (error) {
      this.logger.error({ err: error, op: type }, 'could not store an operational event');
    }
    if (this.webhook) {
      await this.webhook({
        id: record.id,
        type,
        accountId,
        endpointId: record.endpointId,
        deliveryId: record.deliveryId,
        data,
        createdAt: new Date(record.createdAt).toISOString(),
      });
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
