// Operational notifications: the events raised (OperationalEvents), the relay that fans each
// one out after its commit to a list of sinks (the subscribed endpoints, and the email outbox
// when HERALD_SMTP_URL is set), and the alert mailer that sends the emails queued there
// (Nodemailer is loaded only then). Built before the services, which raise events; started
// after the worker, whose first claims go first.

import type { Config } from '../config/settings.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { WorkSignal } from '../queue/work-signal.js';
import { AlertMailer } from '../services/alert-mailer.js';
import { OperationalEvents } from '../services/operational-events.js';
import { OperationsRelay } from '../services/operations-relay.js';
import { emailSink, subscriberSink } from '../services/operational-sinks.js';
import type { Store } from '../store/port.js';
import type { Lifecycle } from './lifecycle.js';

export interface NotifierParts {
  readonly config: Config;
  readonly store: Store;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  readonly random: () => number;
  readonly signal: WorkSignal;
}

export interface Notifiers {
  readonly ops: OperationalEvents;
  readonly relay: OperationsRelay;
  /** Starts the relay and the mailer. */
  start(): void;
}

/** The alert mailer, when HERALD_SMTP_URL is set, and the function that closes its connection. */
async function alertMailer(
  parts: NotifierParts,
): Promise<{ mailer: AlertMailer; close: () => void } | null> {
  const { config, logger } = parts;
  if (!config.smtpUrl) return null;
  if (!config.alertFrom) {
    throw new ConfigError(
      'HERALD_ALERT_FROM is required with HERALD_SMTP_URL: the sender of alert emails',
    );
  }
  const { smtpClient } = await import('../net/smtp.js');
  const smtp = smtpClient(config.smtpUrl, (error) =>
    logger.warn({ err: error }, 'the SMTP connection failed'),
  );
  const mailer = new AlertMailer({
    store: parts.store,
    send: (message) => smtp.send(message),
    from: config.alertFrom,
    publicUrl: config.publicUrl,
    logger,
    metrics: parts.metrics,
    clock: parts.clock,
    random: parts.random,
  });
  return { mailer, close: () => smtp.close() };
}

/** Builds the notifiers; `lifecycle` stops them (the mailer's connection last) at shutdown. */
export async function buildNotifiers(
  parts: NotifierParts,
  lifecycle: Lifecycle,
): Promise<Notifiers> {
  const { store, logger, metrics, clock, signal } = parts;
  const mail = await alertMailer(parts);
  if (mail) lifecycle.addBackground({ stop: mail.close }, mail.mailer);
  const sinks = [subscriberSink({ store, metrics, signal })];
  if (mail) sinks.push(emailSink({ onQueued: () => mail.mailer.kick() }));
  const relay = new OperationsRelay({ store, logger, metrics, clock, sinks });
  lifecycle.addBackground(relay);
  const ops = new OperationalEvents(store, logger, clock, () => relay.kick());
  return {
    ops,
    relay,
    start: () => {
      relay.start();
      mail?.mailer.start();
    },
  };
}
