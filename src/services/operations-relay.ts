// Fans out stored operational events: to each endpoint that subscribes to the type (a delivery
// like any other: signed, retried, with the endpoint's auth), and to the account's contact
// address (the email outbox). One transaction per event marks it dispatched together with what it
// fans out to, so a crash anywhere loses nothing and sends nothing twice; several processes may
// run the relay at once (the mark is a compare-and-set). Runs after commits, never inside a
// delivery: a delivery that raises an event never waits for its fan-out.

import { newId, type AccountId } from '../domain/ids.js';
import {
  isEmailed,
  isOperationalType,
  operationalPayload,
  operationalRecipients,
} from '../domain/operational.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type {
  AccountRecord,
  AccountStore,
  AlertEmailRequest,
  EndpointRow,
  EndpointStore,
  NewEvent,
  OperationalEventRecord,
  OperationsStore,
  QueueStore,
} from '../store/port.js';
import { isStoreUnavailable } from '../store/unavailable.js';
import { Background } from './background.js';
import type { WorkSignal } from './work-signal.js';

/** Events dispatched per look at the store. */
const BATCH = 50;
/** How often to look for events stored by other processes or left by a crash. */
const INTERVAL_MS = 5000;

export interface RelayOptions {
  readonly store: OperationsStore & AccountStore & EndpointStore & QueueStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  /** Wakes this process's worker for new deliveries. */
  readonly signal: WorkSignal;
  /** Whether emails are sent (SMTP configured); without, none is queued. */
  readonly email: boolean;
  /** Told when an email was queued. */
  readonly onEmail?: () => void;
  readonly intervalMs?: number;
}

export class OperationsRelay extends Background {
  constructor(private readonly o: RelayOptions) {
    super('operational event relay', o.intervalMs ?? INTERVAL_MS, o.logger);
  }

  protected async run(): Promise<void> {
    for (;;) {
      const events = await this.o.store.undispatchedOperationalEvents(BATCH);
      // What this run read of each account, so a burst of events reads it once.
      const accounts = new Map<AccountId, Promise<AccountView>>();
      for (const event of events) {
        let view = accounts.get(event.accountId);
        if (!view) {
          view = this.view(event.accountId);
          accounts.set(event.accountId, view);
        }
        try {
          await this.dispatch(event, await view);
        } catch (error) {
          if (isStoreUnavailable(error)) throw error;
          this.o.logger.error(
            { err: error, op: event.type, operationalEventId: event.id },
            'could not dispatch an operational event; will try again',
          );
        }
      }
      if (events.length < BATCH) return;
    }
  }

  private async view(accountId: AccountId): Promise<AccountView> {
    const [account, endpoints] = await Promise.all([
      this.o.store.getAccount(accountId),
      this.o.store.listEndpoints(accountId),
    ]);
    return { account, endpoints };
  }

  private async dispatch(e: OperationalEventRecord, view: AccountView): Promise<void> {
    const now = this.o.clock();
    // A delivery.exhausted about a delivery that carried an operational event itself is not
    // delivered to endpoints (see operationalRecipients).
    const exhaustedDelivery =
      e.type === 'delivery.exhausted' && e.deliveryId
        ? await this.o.store.getDelivery(e.accountId, e.deliveryId)
        : undefined;
    const recipients = operationalRecipients(
      view.endpoints,
      e,
      exhaustedDelivery !== undefined && isOperationalType(exhaustedDelivery.eventName),
    );
    const event: NewEvent | null =
      recipients.length === 0
        ? null
        : {
            event: {
              id: newId('event', now),
              accountId: e.accountId,
              name: e.type,
              packageId: '',
              payload: operationalPayload(e),
              receivedAt: now,
            },
            deliveries: recipients.map((r) => ({
              id: newId('delivery', now),
              endpointId: r.endpointId,
              status: r.status,
              orderingKey: null,
            })),
          };
    const email = this.email(e, view, now);
    if (!(await this.o.store.dispatchOperationalEvent({ id: e.id, at: now, event, email }))) return;

    this.o.metrics.operationalEvents.inc({ type: e.type });
    this.o.logger.warn(
      {
        op: e.type,
        operationalEventId: e.id,
        accountId: e.accountId,
        endpointId: e.endpointId,
        deliveryId: e.deliveryId,
        subscribers: recipients.length,
        emailed: email !== null,
        ...e.data,
      },
      `operational event ${e.type}`,
    );
    const pending = recipients.filter((r) => r.status === 'pending').length;
    if (pending > 0) {
      this.o.metrics.deliveriesCreated.inc({ status: 'pending' }, pending);
      this.o.signal.notify();
    }
    if (recipients.length > pending) {
      this.o.metrics.deliveriesCreated.inc({ status: 'held' }, recipients.length - pending);
    }
    if (email) this.o.onEmail?.();
  }

  /** The email about this event, when one is due: emails on, a contact, an emailed type. */
  private email(
    e: OperationalEventRecord,
    view: AccountView,
    now: number,
  ): AlertEmailRequest | null {
    if (!this.o.email || !view.account?.contactEmail || !isEmailed(e.type)) return null;
    const subject = view.endpoints.find((x) => x.id === e.endpointId);
    // An endpoint deleted since has nothing left to fix.
    if (!subject) return null;
    return {
      accountId: e.accountId,
      endpointId: subject.id,
      type: e.type,
      endpointUrl: subject.url,
      endpointDescription: subject.description,
      data: e.data,
      at: now,
    };
  }
}

interface AccountView {
  readonly account: AccountRecord | undefined;
  readonly endpoints: readonly EndpointRow[];
}
