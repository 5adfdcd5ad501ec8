// The alert mailer over a real store and a real SMTP server on loopback: a send the server
// refuses is tried again later (the email is kept in the outbox meanwhile), and smtps:// sends over
// TLS with the credentials of the URL. The clock is injected: retries are a matter of time.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newOperationalEvent } from '../../src/domain/operational.js';
import { smtpClient } from '../../src/net/smtp.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { AlertMailer } from '../../src/services/alert-mailer.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { eventually } from '../helpers/herald.js';
import { selfSignedCertificate, startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';
import { T0, anAccount, anEndpoint } from '../helpers/store.js';

describe('the alert mailer', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A store with one account (contact set) and one endpoint, and an email waiting about it. */
  async function outboxWithOneEmail(): Promise<{ store: SqliteStore; path: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-mailer-'));
    const path = join(dir, 'herald.db');
    const store = new SqliteStore({ path, synchronous: 'normal' });
    cleanups.push(
      () => rmSync(dir, { recursive: true, force: true }),
      () => store.close(),
    );
    await store.migrate();
    const account = anAccount(T0, { contactEmail: 'ops@acme.test' });
    await store.insertAccount(account);
    const endpoint = anEndpoint(account.id, T0, { url: 'https://listener.example.com/in' });
    await store.insertEndpoint(endpoint);
    const event = newOperationalEvent(
      'endpoint.disabled',
      account.id,
      { endpointId: endpoint.id },
      { reason: 'the listener answered 410 Gone' },
      T0,
    );
    await store.insertOperationalEvent(event);
    await store.dispatchOperationalEvent({
      id: event.id,
      at: T0,
      event: null,
      email: {
        accountId: account.id,
        endpointId: endpoint.id,
        type: 'endpoint.disabled',
        endpointUrl: endpoint.url,
        endpointDescription: null,
        data: event.data,
        at: T0,
      },
    });
    return { store, path };
  }

  function mailer(store: SqliteStore, url: string, clock: () => number): AlertMailer {
    const smtp = smtpClient(url, () => {});
    const m = new AlertMailer({
      store,
      send: (message) => smtp.send(message),
      from: 'herald@acme.test',
      publicUrl: null,
      logger: silentLogger(),
      metrics: new Metrics(),
      clock,
      random: () => 0.5,
      intervalMs: 20,
    });
    cleanups.push(
      () => smtp.close(),
      () => m.stop(),
    );
    return m;
  }

  async function smtpServer(
    options: Parameters<typeof startSmtpServer>[0],
  ): Promise<TestSmtpServer> {
    const server = await startSmtpServer(options);
    cleanups.push(() => server.close());
    return server;
  }

  it('keeps an email the server refused and sends it after the pause', async () => {
    const { store, path } = await outboxWithOneEmail();
    const smtp = await smtpServer({ refuseFirst: 1 });
    let now = T0;
    mailer(store, `smtp://127.0.0.1:${smtp.port}`, () => now).start();

    await eventually(() => (smtp.refused() === 1 ? true : undefined));
    // Nothing due before the pause (30 s for a first failure) is over: not sent, not lost.
    await eventually(() => (waiting(path)[0]?.attempts === 1 ? true : undefined));
    expect(waiting(path)).toEqual([{ attempts: 1, lastError: expect.stringMatching(/451/) }]);
    expect(smtp.received).toEqual([]);
    now = T0 + 30_000;
    const [mail] = await smtp.waitFor(1);
    expect(mail!.to).toEqual(['ops@acme.test']);
    expect(mail!.subject).toBe('Herald: Endpoint disabled: https://listener.example.com/in');
    expect(mail!.secure).toBe(false);
    await eventually(() => (waiting(path).length === 0 ? true : undefined));
  });

  it('sends over TLS to an smtps:// server with the user name and password of the URL', async () => {
    const cert = selfSignedCertificate();
    cleanups.push(() => cert.cleanup());
    const { store } = await outboxWithOneEmail();
    const smtp = await smtpServer({
      tls: cert,
      implicitTls: true,
      auth: { user: 'alerts', pass: 'p@ss word' },
    });
    // The certificate is this test's own: trusted here by turning verification off through the
    // URL (Nodemailer's tls.* options); the CLI test trusts it through NODE_EXTRA_CA_CERTS instead.
    const url = `smtps://alerts:${encodeURIComponent('p@ss word')}@localhost:${smtp.port}?tls.rejectUnauthorized=false`;
    mailer(store, url, () => T0).start();
    const [mail] = await smtp.waitFor(1);
    expect(mail!.secure).toBe(true);
    expect(mail!.user).toBe('alerts');
    expect(mail!.raw).not.toContain('p@ss');
  });
});

/** The emails still waiting in the outbox, read over a second connection (nothing changed). */
function waiting(path: string): Array<{ attempts: number; lastError: string | null }> {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT attempts, last_error AS lastError FROM alert_emails WHERE status = 'pending'`,
      )
      .all() as Array<{ attempts: number; lastError: string | null }>;
  } finally {
    db.close();
  }
}
