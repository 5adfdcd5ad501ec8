// `herald serve` sending an alert email the way an operator sets it up: HERALD_SMTP_URL with a
// user name and password, a server that offers STARTTLS and accepts AUTH only over TLS, its
// certificate trusted through NODE_EXTRA_CA_CERTS. A removed setting still set is warned about.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startListener } from '../helpers/listener.js';
import { startServer } from '../helpers/process.js';
import { selfSignedCertificate, startSmtpServer } from '../helpers/smtp.js';

const KEY = 'alert-email-key-0123456789';
const PASSWORD = 'p@ss:w/rd';

describe('herald serve with HERALD_SMTP_URL over STARTTLS', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-alert-'));
  const cert = selfSignedCertificate();
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
    cert.cleanup();
  });

  it('upgrades to TLS, verifies the certificate, authenticates, and sends', async () => {
    const smtp = await startSmtpServer({ tls: cert, auth: { user: 'alerts', pass: PASSWORD } });
    const gone = await startListener(() => ({ status: 410 }));
    const server = await startServer(
      ['--port', '0', '--data-dir', dataDir, '--allow-private-network'],
      {
        HERALD_API_KEY: KEY,
        HERALD_LOG_LEVEL: 'warn',
        HERALD_SMTP_URL: `smtp://alerts:${encodeURIComponent(PASSWORD)}@localhost:${smtp.port}`,
        HERALD_ALERT_FROM: 'Herald <herald@acme.test>',
        NODE_EXTRA_CA_CERTS: cert.certFile,
        HERALD_OPERATIONS_WEBHOOK_URL: 'http://127.0.0.1:9/old-hook',
      },
    );
    try {
      const call = (method: string, path: string, body: unknown) =>
        fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await call('PATCH', '/v1/account', { contactEmail: 'ops@acme.test' })).status).toBe(
        200,
      );
      const ep = (await (
        await call('POST', '/v1/endpoints', { url: `${gone.url}/in`, events: ['PACKAGE_COMPLETE'] })
      ).json()) as { id: string };
      expect(
        (await call('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'x' })).status,
      ).toBe(202);
      const [mail] = await smtp.waitFor(1, 30_000);
      expect(mail!.secure).toBe(true);
      expect(mail!.user).toBe('alerts');
      expect(mail!.to).toEqual(['ops@acme.test']);
      expect(mail!.text).toContain(ep.id);
      expect(mail!.raw).not.toContain(PASSWORD);
      // The removed setting is named at start, with what replaces it; no password in the output.
      expect(server.output()).toMatch(/warning: HERALD_OPERATIONS_WEBHOOK_URL was removed/);
      expect(server.output()).not.toContain(PASSWORD);
      expect(server.output()).not.toContain(encodeURIComponent(PASSWORD));
    } finally {
      expect(await server.stop()).toBe(0);
      await smtp.close();
      await gone.close();
    }
  });
});
