// Alert emails to the account's contact address, through a real SMTP server on loopback: which
// endpoint, what happened, what to do, the console link; never a secret; one an hour per endpoint
// and kind of trouble, the rest counted into the next.

import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import {
  eventually,
  startTestHerald,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestHerald,
} from '../helpers/herald.js';
import { onFreePort } from '../helpers/ports.js';
import { sandboxSalesforceKey } from '../helpers/salesforce.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.js';

const CONTACT = 'integrations@acme.test';
const FROM = 'Herald <herald@acme.test>';

describe('alert emails', () => {
  let PUBLIC_URL = '';
  let herald: TestHerald | undefined;
  let smtp: TestSmtpServer | undefined;
  let listener: Listener | undefined;
  let sandbox: Sandbox | undefined;
  afterEach(async () => {
    await herald?.close();
    await smtp?.close();
    await listener?.close();
    await sandbox?.close();
    herald = smtp = listener = sandbox = undefined;
  });

  async function start(env: Record<string, string> = {}): Promise<TestHerald> {
    const mail = (smtp = await startSmtpServer());
    // The port is picked before the server starts (its public URL names it), so another test's
    // socket can take it in between: then another is picked.
    const started = await onFreePort(
      (port) => {
        PUBLIC_URL = `http://127.0.0.1:${port}`;
        return startTestHerald({
          HERALD_PORT: String(port),
          HERALD_SMTP_URL: `smtp://127.0.0.1:${mail.port}`,
          HERALD_ALERT_FROM: FROM,
          HERALD_PUBLIC_URL: PUBLIC_URL,
          ...env,
        });
      },
      (error) => /EADDRINUSE/.test(String(error)),
    );
    herald = started;
    const patched = await started.api('PATCH', '/v1/account', { contactEmail: CONTACT });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.contactEmail).toBe(CONTACT);
    return started;
  }

  it('a listener answering 410: an email naming the endpoint, what to do, the console link', async () => {
    const h = await start();
    listener = await startListener(() => ({ status: 410 }));
    const ep = await h.api('POST', '/v1/endpoints', {
      url: `${listener.url}/orders?token=url-secret-123`,
      events: ['PACKAGE_COMPLETE'],
      description: 'Orders listener',
      auth: { type: 'BASIC', key: 'basic-secret-456' },
    });
    expect(ep.status).toBe(201);
    await h.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'p1' });

    const [mail] = await smtp!.waitFor(1);
    expect(mail!.to).toEqual([CONTACT]);
    expect(mail!.from).toBe('herald@acme.test');
    expect(mail!.subject).toBe(
      `Herald: Endpoint disabled: ${listener.url}/orders (credentials and query not shown)`,
    );
    for (const body of [mail!.text, mail!.html]) {
      expect(body).toContain(ep.body.id);
      expect(body).toContain(`${listener.url}/orders`);
      expect(body).toContain('410 Gone');
      expect(body).toContain(`${PUBLIC_URL}/console/endpoints/${ep.body.id}`);
      expect(body).toContain('Orders listener');
    }
    expect(mail!.text).toMatch(/What to do:\n- Check that the listener/);
    for (const secret of [
      'url-secret-123',
      'basic-secret-456',
      ep.body.signingSecret as string,
      TEST_API_KEY,
    ]) {
      expect(mail!.raw).not.toContain(secret);
    }
  });

  it('a Salesforce endpoint whose grant is dead: an email to reconnect it, no token in it', async () => {
    const h = await start({ HERALD_RETRY_SCHEDULE: '200ms' });
    sandbox = await startSandbox({ rotation: true });
    const refreshToken = sandbox.issueRefreshToken();
    const key = sandboxSalesforceKey(sandbox, refreshToken);
    const reg = await h.api('POST', '/api/callback/connectors/salesforceOauth2', {
      url: `${sandbox.url}/services/apexrest/herald/events`,
      key,
      events: ['PACKAGE_COMPLETE'],
    });
    expect(reg.status, reg.text).toBe(200);
    sandbox.revokeAllGrants();
    await h.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'p-dead' });

    const [mail] = await smtp!.waitFor(1);
    const endpoint = (await h.api('GET', '/v1/endpoints')).body.data[0] as { id: string };
    expect(mail!.to).toEqual([CONTACT]);
    expect(mail!.subject).toBe(
      `Herald: Reconnect needed: ${sandbox.url}/services/apexrest/herald/events`,
    );
    expect(mail!.text).toContain(endpoint.id);
    expect(mail!.text).toMatch(/Reconnect the endpoint/);
    expect(mail!.text).toContain(`herald connect salesforce --endpoint ${endpoint.id}`);
    for (const secret of [refreshToken, key, TEST_API_KEY]) {
      expect(mail!.raw).not.toContain(secret);
    }
  });

  it('one email an hour per endpoint and type: a second exhausted delivery waits, counted', async () => {
    const h = await start({ HERALD_RETRY_SCHEDULE: '0s' });
    listener = await startListener(() => ({ status: 500 }));
    const ep = await h.api('POST', '/v1/endpoints', {
      url: `${listener.url}/x`,
      events: ['PACKAGE_CREATE'],
    });
    await h.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'one' });
    const [first] = await smtp!.waitFor(1);
    expect(first!.subject).toBe(`Herald: Deliveries failed: ${listener.url}/x`);
    expect(first!.text).toMatch(
      /^A delivery to the endpoint .* is now failed \(the latest after 2 attempts, last error: HTTP 500\)\./,
    );

    await h.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'two' });
    await h.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'three' });
    // Both dispatched (counted at dispatch), into the email that waits for the hour to pass.
    await eventually(async () => {
      const text = await fetch(`${h.url}/metrics`).then((r) => r.text());
      return /^herald_operational_events_total\{type="delivery.exhausted"\} 3$/m.test(text)
        ? true
        : undefined;
    });
    const waiting = await h.store.claimAlertEmails(Date.now() + 2 * 3600_000, Date.now(), 10);
    expect(waiting.map((e) => [e.endpointId, e.type, e.count])).toEqual([
      [ep.body.id, 'delivery.exhausted', 2],
    ]);
    expect(waiting[0]!.dueAt).toBeGreaterThanOrEqual(Date.now() + 3500_000);
    expect(smtp!.received).toHaveLength(1);
  });

  it('sends nothing to an account without a contact address', async () => {
    const h = await start({ HERALD_RETRY_SCHEDULE: '0s' });
    expect((await h.api('PATCH', '/v1/account', { contactEmail: null })).body.contactEmail).toBe(
      null,
    );
    expect((await h.api('PATCH', '/v1/account', { contactEmail: 'not an address' })).status).toBe(
      400,
    );
    listener = await startListener(() => ({ status: 410 }));
    await h.api('POST', '/v1/endpoints', { url: `${listener.url}/x`, events: ['PACKAGE_CREATE'] });
    await h.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'quiet' });
    await eventually(async () => {
      const text = await fetch(`${h.url}/metrics`).then((r) => r.text());
      return /^herald_operational_events_total\{type="endpoint.disabled"\} 1$/m.test(text)
        ? true
        : undefined;
    });
    expect(await h.store.claimAlertEmails(Date.now() + 2 * 3600_000, Date.now(), 10)).toEqual([]);
    expect(smtp!.received).toEqual([]);
  });

  it('the contact address: set by the account itself or by the operator, checked at the edge', async () => {
    const h = await start();
    expect((await h.api('GET', '/v1/account')).body.contactEmail).toBe(CONTACT);
    for (const bad of [{}, { contactEmail: 42 }, { contactEmail: 'a@b\r\nBcc: x@y.z' }]) {
      const res = await h.api('PATCH', '/v1/account', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    const created = await h.api(
      'POST',
      '/v1/accounts',
      { name: 'Globex' },
      { key: TEST_ADMIN_KEY },
    );
    const id = created.body.id as string;
    const patched = await h.api(
      'PATCH',
      `/v1/accounts/${id}`,
      { contactEmail: 'alerts@globex.test' },
      { key: TEST_ADMIN_KEY },
    );
    expect(patched.body).toMatchObject({ id, contactEmail: 'alerts@globex.test' });
    // An account key cannot change another account; the admin key has no account of its own.
    expect((await h.api('PATCH', `/v1/accounts/${id}`, { contactEmail: null })).status).toBe(403);
    expect((await h.api('GET', '/v1/account', undefined, { key: TEST_ADMIN_KEY })).status).toBe(
      403,
    );
    expect(
      (
        await h.api(
          'PATCH',
          '/v1/accounts/acc_00000000000000000000000000',
          { contactEmail: null },
          {
            key: TEST_ADMIN_KEY,
          },
        )
      ).status,
    ).toBe(404);
  });

  it('refuses to start with HERALD_SMTP_URL but no HERALD_ALERT_FROM', async () => {
    await expect(startTestHerald({ HERALD_SMTP_URL: 'smtp://127.0.0.1:9' })).rejects.toThrow(
      /HERALD_ALERT_FROM is required with HERALD_SMTP_URL/,
    );
  });
});
