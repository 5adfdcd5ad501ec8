// Fans out stored operational events to a list of sinks (operational-sinks.ts): the endpoints
// that subscribe to the type (a delivery like any other: signed, retried, with the endpoint's
// auth), and the account's contact address (the email outbox, when SMTP is configured). One
// transaction per event marks it dispatched together with every sink's rows, so a crash
// anywhere loses nothing and sends nothing twice; several processes may run the relay at once
// (the mark is a compare-and-set). The sinks hear of it after the commit, without being
// awaited. Runs after commits, never inside a delivery: a delivery that raises an event never
// waits for its fan-out.

import type { AccountId } from '../domain/ids.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type {
  AccountRecord,
  AccountStore,
  EndpointRow,
  EndpointStore,
  OperationalEventRecord,
  OperationsStore,
} from '../store/port.js';
import { isStoreUnavailable } from '../domain/store-unavailable.js';
import { Background } from './background.js';
import type { OperationalSink, SinkPart } from './operational-sinks.js';

/** Events dispatched per look at the store. */
const BATCH = 50;
/** How often to look for events stored by other processes or left by a crash. */
const INTERVAL_MS = 5000;

export interface RelayOptions {
  readonly store: OperationsStore & AccountStore & EndpointStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  /** Where each event goes (operational-sinks.ts), in the one transaction that dispatches it. */
  readonly sinks: readonly OperationalSink[];
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
    const input = { event: e, ...view, now };
    const parts: SinkPart[] = [];
    for (const sink of this.o.sinks) parts.push(await sink.plan(input));
    const { event = null, email = null } = Object.assign({}, ...parts) as SinkPart;
    if (!(await this.o.store.dispatchOperationalEvent({ id: e.id, at: now, event, email }))) return;

    this.o.metrics.operationalEvents.inc({ type: e.type });
    this.o.logger.warn(
      {
        op: e.type,
        operationalEventId: e.id,
        accountId: e.accountId,
        endpointId: e.endpointId,
        deliveryId: e.deliveryId,
        subscribers: event?.deliveries.length ?? 0,
        emailed: email !== null,
        ...e.data,
      },
      `operational event ${e.type}`,
    );
    this.o.sinks.forEach((sink, i) => sink.committed(parts[i]!));
  }
}

interface AccountView {
  readonly account: AccountRecord | undefined;
  readonly endpoints: readonly EndpointRow[];
}
