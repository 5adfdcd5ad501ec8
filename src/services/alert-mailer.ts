// Sends the emails of the outbox (stored by the relay with the operational events they tell of):
// to the account's contact address as it is when sending, from HERALD_ALERT_FROM, through the
// SMTP server of HERALD_SMTP_URL. An email is leased while it is sent; a failed send is tried
// again with a growing pause; one that keeps failing for three days is given up (and logged).

import { alertEmail, nextAlertTryAt } from '../domain/alert-email.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { AccountStore, AlertEmailRecord, OperationsStore } from '../store/port.js';
import { isStoreUnavailable } from '../domain/store-unavailable.js';
import { Background } from './background.js';

/** One message to send; the sender adds nothing but the SMTP envelope. */
export interface MailMessage {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Sends one message; rejects when the SMTP server did not take it. */
export type SendMail = (message: MailMessage) => Promise<void>;

/** Emails sent per look at the outbox. */
const BATCH = 20;
/** How long a claimed email is this process's to send before another may take it. */
const LEASE_MS = 5 * 60_000;
/** How often to look for emails that became due (an hour's gap ends, a retry's pause). */
const INTERVAL_MS = 10_000;
/** An email still failing this long after its first event is given up. */
const GIVE_UP_AFTER_MS = 3 * 24 * 3600_000;

export interface MailerOptions {
  readonly store: OperationsStore & AccountStore;
  readonly send: SendMail;
  readonly from: string;
  /** HERALD_PUBLIC_URL, for the console link; null for none. */
  readonly publicUrl: string | null;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  readonly random: () => number;
  readonly intervalMs?: number;
}

export class AlertMailer extends Background {
  constructor(private readonly o: MailerOptions) {
    super('alert mailer', o.intervalMs ?? INTERVAL_MS, o.logger);
  }

  protected async run(): Promise<void> {
    for (;;) {
      const now = this.o.clock();
      const due = await this.o.store.claimAlertEmails(now, now + LEASE_MS, BATCH);
      for (const email of due) {
        try {
          await this.deliver(email);
        } catch (error) {
          // The store failed while recording the outcome: the lease runs out and it is sent again.
          if (isStoreUnavailable(error)) throw error;
          this.o.logger.error({ err: error, emailSeq: email.seq }, 'could not finish an email');
        }
      }
      if (due.length < BATCH) return;
    }
  }

  private async deliver(email: AlertEmailRecord): Promise<void> {
    const account = await this.o.store.getAccount(email.accountId);
    const to = account?.contactEmail;
    if (!to) {
      await this.o.store.finishAlertEmail(email, {
        kind: 'dropped',
        at: this.o.clock(),
        error: 'the account has no contact address',
      });
      return;
    }
    const message = alertEmail({
      type: email.type,
      endpointId: email.endpointId,
      endpointUrl: email.endpointUrl,
      endpointDescription: email.endpointDescription,
      count: email.count,
      firstAt: email.firstAt,
      lastAt: email.lastAt,
      data: email.data,
      consoleUrl: this.o.publicUrl
        ? `${this.o.publicUrl}/console/endpoints/${email.endpointId}`
        : null,
    });
    const log = { emailSeq: email.seq, type: email.type, endpointId: email.endpointId };
    try {
      await this.o.send({ from: this.o.from, to, ...message });
    } catch (error) {
      const now = this.o.clock();
      const reason = error instanceof Error ? error.message : String(error);
      this.o.metrics.alertEmails.inc({ outcome: 'failed' });
      if (now - email.firstAt >= GIVE_UP_AFTER_MS) {
        this.o.logger.error({ ...log, err: error }, 'gave up sending an alert email');
        await this.o.store.finishAlertEmail(email, { kind: 'dropped', at: now, error: reason });
        return;
      }
      const retryAt = nextAlertTryAt(email.attempts + 1, now, this.o.random());
      this.o.logger.warn({ ...log, err: error, retryAt }, 'could not send an alert email');
      await this.o.store.finishAlertEmail(email, {
        kind: 'retry',
        at: now,
        retryAt,
        error: reason,
      });
      return;
    }
    this.o.metrics.alertEmails.inc({ outcome: 'sent' });
    this.o.logger.info({ ...log, count: email.count }, 'sent an alert email');
    await this.o.store.finishAlertEmail(email, { kind: 'sent', at: this.o.clock() });
  }
}
