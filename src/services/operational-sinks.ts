// Where the relay (operations-relay.ts) sends an operational event: a list of sinks. Each one
// adds its rows to the one transaction that marks the event dispatched (so a crash loses
// nothing and sends nothing twice), and is told once that transaction has committed, to wake
// what sends those rows. Today: the endpoints that subscribe to the type (an event delivered
// like any other), and, when SMTP is configured, the email outbox (alert-mailer.ts sends it).
// A new sink adds its part to OperationalDispatch (store/port.ts) and to this list.

import { newId } from '../domain/ids.js';
import {
  isEmailed,
  isOperationalType,
  operationalPayload,
  operationalRecipients,
} from '../domain/operational.js';
import type { Metrics } from '../observability/metrics.js';
import type { WorkSignal } from '../queue/work-signal.js';
import type {
  AccountRecord,
  EndpointRow,
  OperationalDispatch,
  OperationalEventRecord,
  QueueStore,
} from '../store/port.js';

/** What a sink may look at: the event, and its account as the relay read it for this run. */
export interface SinkInput {
  readonly event: OperationalEventRecord;
  readonly account: AccountRecord | undefined;
  readonly endpoints: readonly EndpointRow[];
  readonly now: number;
}

/** A sink's rows in the dispatch transaction (the parts of OperationalDispatch it fills). */
export type SinkPart = Partial<Pick<OperationalDispatch, 'event' | 'email'>>;

export interface OperationalSink {
  readonly name: string;
  /** Its rows for the event's dispatch transaction; `{}` when it has nothing for this one. */
  plan(input: SinkInput): SinkPart | Promise<SinkPart>;
  /** Told after the transaction committed with the part it planned; never awaited. */
  committed(part: SinkPart): void;
}

/**
 * The endpoints that subscribe to the event's type: one event with a delivery to each, held
 * for the endpoints that cannot take it now. The worker is woken for the pending ones.
 */
export function subscriberSink(o: {
  readonly store: QueueStore;
  readonly metrics: Metrics;
  readonly signal: WorkSignal;
}): OperationalSink {
  return {
    name: 'subscribed endpoints',
    async plan({ event: e, endpoints, now }) {
      // A delivery.exhausted about a delivery that carried an operational event itself is not
      // delivered to endpoints (see operationalRecipients).
      const exhaustedDelivery =
        e.type === 'delivery.exhausted' && e.deliveryId
          ? await o.store.getDelivery(e.accountId, e.deliveryId)
          : undefined;
      const recipients = operationalRecipients(
        endpoints,
        e,
        exhaustedDelivery !== undefined && isOperationalType(exhaustedDelivery.eventName),
      );
      if (recipients.length === 0) return { event: null };
      return {
        event: {
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
        },
      };
    },
    committed({ event }) {
      const deliveries = event?.deliveries ?? [];
      const pending = deliveries.filter((d) => d.status === 'pending').length;
      if (pending > 0) {
        o.metrics.deliveriesCreated.inc({ status: 'pending' }, pending);
        o.signal.notify();
      }
      if (deliveries.length > pending) {
        o.metrics.deliveriesCreated.inc({ status: 'held' }, deliveries.length - pending);
      }
    },
  };
}

/** The email outbox: one email to the account's contact about an endpoint to fix. */
export function emailSink(o: {
  /** Told when an email was queued (the mailer sends it). */
  readonly onQueued: () => void;
}): OperationalSink {
  return {
    name: 'email outbox',
    plan({ event: e, account, endpoints, now }) {
      if (!account?.contactEmail || !isEmailed(e.type)) return { email: null };
      const subject = endpoints.find((x) => x.id === e.endpointId);
      // An endpoint deleted since has nothing left to fix.
      if (!subject) return { email: null };
      return {
        email: {
          accountId: e.accountId,
          endpointId: subject.id,
          type: e.type,
          endpointUrl: subject.url,
          endpointDescription: subject.description,
          data: e.data,
          at: now,
        },
      };
    },
    committed({ email }) {
      if (email) o.onQueued();
    },
  };
}
