// The web console in headless Chromium, as a new user would meet it: sign in with the API key at
// `/`, add an endpoint through the form, publish, watch the delivery succeed; a failing
// listener's attempts, a retry and a recovered range; a Salesforce endpoint whose grant died,
// reconnected through Herald's sandbox on another site (127.0.0.1 vs localhost, so SameSite is
// exercised for real) until its held deliveries are delivered; the operator's accounts; CSRF and
// session expiry refused; zero serious or critical axe-core violations on every page.
// HERALD_SCREENSHOTS=docs/images saves a laptop-width screenshot of each page.

import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import {
  eventually,
  startTestHerald,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestHerald,
} from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';

if (chromiumMissing) console.warn(`skipping browser tests: ${chromiumMissing}`);

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = process.env.HERALD_SCREENSHOTS;
const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };
const APEX_PATH = '/services/apexrest/herald/events';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe-core in the page (evaluated through the DevTools protocol: the page's CSP stays on). */
async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const scope = globalThis as any;
    const result = await scope.axe.run(scope.document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n: any) => n.target.join(' ')),
    }));
  });
  return (violations as AxeViolation[]).filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
}

describe.skipIf(chromiumMissing !== undefined)(
  'the console in headless Chromium',
  () => {
    let herald: TestHerald;
    let listener: Listener;
    let failing: Listener;
    let sandbox: Sandbox;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let console_: string;
    let clockOffset = 0;
    const checked: string[] = [];

    /** axe on the current page, and its screenshot when asked for. */
    async function check(name: string): Promise<void> {
      expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
      const html = await page.content();
      expect(html, name).not.toContain(TEST_API_KEY);
      expect(html, name).not.toContain(TEST_ADMIN_KEY);
      checked.push(name);
      if (SCREENSHOTS) {
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: false });
      }
    }

    async function nav(name: string): Promise<void> {
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name, exact: true })
        .click();
      await page.waitForLoadState('load');
    }

    async function signIn(key: string): Promise<void> {
      await page.goto(`${console_}/sign-in`);
      await page.getByLabel('API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${console_}/`);
    }

    beforeAll(async () => {
      herald = await startTestHerald({}, { clock: () => Date.now() + clockOffset });
      listener = await startListener(() => ({ status: 200, body: 'thanks' }));
      failing = await startListener(() => ({ status: 500, body: 'listener is down' }));
      sandbox = await startSandbox({ host: '127.0.0.1' });
      browser = await launchChromium();
      context = await browser.newContext({ viewport: LAPTOP });
      page = await context.newPage();
      // The console on localhost; the sandbox's login page on 127.0.0.1: two sites.
      console_ = `http://localhost:${herald.port}/console`;
    });

    afterAll(async () => {
      await context?.close();
      await browser?.close();
      await sandbox?.close();
      await listener?.close();
      await failing?.close();
      await herald?.close();
    });

    it('signs in with the API key at /, after a wrong key is refused', async () => {
      await page.goto(`http://localhost:${herald.port}/`);
      await page.waitForURL(`${console_}/sign-in`);
      await check('sign-in');
      await page.getByLabel('API key').fill('not-the-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toContain(
        'That API key is not valid',
      );
      await page.getByLabel('API key').fill(TEST_API_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${console_}/`);
      const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
      expect(await links.allTextContents()).toEqual([
        'Overview',
        'Endpoints',
        'Deliveries',
        'Events',
      ]);
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'herald_session')!;
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
      expect(session.value).not.toContain(TEST_API_KEY);
    });

    it('creates an endpoint through the form, publishes, and shows the delivery succeed', async () => {
      await nav('Endpoints');
      await page.getByRole('link', { name: 'Add endpoint' }).click();
      await check('endpoint-new');
      await page.getByLabel('Listener URL').fill(`${listener.url}/hook`);
      await page.getByLabel('Transaction completed').check();
      await page.getByLabel('Document signed').check();
      await page.getByLabel('How the listener checks Herald').selectOption('BASIC');
      // Progressive enhancement: only the chosen auth type's fields show.
      expect(await page.getByLabel('Client id').isVisible()).toBe(false);
      await page.getByLabel('Callback key').fill('listener-callback-key');
      await page.getByLabel('Header 1 name').fill('X-Tenant');
      await page.getByLabel('Header 1 value').fill('acme');
      await page.getByRole('button', { name: 'Create endpoint' }).click();
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        'Endpoint created',
      );
      expect(await page.locator('#signing-secret').textContent()).toMatch(/^whsec_/);
      await page.getByRole('link', { name: 'Go to the endpoint' }).click();
      expect(await page.content()).not.toContain('listener-callback-key');
      await check('endpoint');

      await nav('Endpoints');
      expect(await page.getByRole('link', { name: `${listener.url}/hook` }).count()).toBe(1);
      await check('endpoints');

      const published = await herald.api('POST', '/v1/events', {
        name: 'PACKAGE_COMPLETE',
        packageId: 'pkg-console-1',
        sessionUser: 'signer-1',
      });
      expect(published.status).toBe(202);
      const [received] = await listener.waitFor(1);
      expect(received!.headers.authorization).toBe('Basic listener-callback-key');
      expect(received!.headers['x-tenant']).toBe('acme');

      await nav('Deliveries');
      // The list refreshes itself (htmx): the delivery turns up as succeeded without a reload.
      await page.locator('#delivery-list .badge', { hasText: 'succeeded' }).first().waitFor();
      await check('deliveries');
    });

    it("shows a failing listener's attempts, retries one, and recovers a range", async () => {
      const created = await herald.api('POST', '/v1/endpoints', {
        url: `${failing.url}/callback`,
        events: ['DOCUMENT_SIGNED'],
        description: 'A listener that is down',
        options: { retrySchedule: [] },
      });
      expect(created.status).toBe(201);
      const endpointId = created.body.id as string;
      for (const pkg of ['pkg-fail-1', 'pkg-fail-2']) {
        await herald.api('POST', '/v1/events', { name: 'DOCUMENT_SIGNED', packageId: pkg });
      }
      await failing.waitFor(2);
      const failed = await eventually(async () => {
        const list = await herald.api('GET', `/v1/deliveries?endpoint=${endpointId}&status=failed`);
        return list.body.data.length === 2 ? (list.body.data as Array<{ id: string }>) : undefined;
      });

      await page.goto(`${console_}/deliveries?status=failed`);
      await page.getByRole('link', { name: failed[1]!.id }).click();
      const timeline = page.locator('#attempt-timeline');
      expect(await timeline.textContent()).toContain('HTTP 500');
      expect(await timeline.textContent()).toContain('listener is down');
      await check('delivery');

      failing.respond(() => ({ status: 200, body: 'back up' }));
      await page.getByRole('button', { name: 'Retry now' }).click();
      await expect(page.getByRole('status').first().textContent()).resolves.toContain(
        'Retrying now',
      );
      await eventually(async () => {
        await page.reload();
        return (await timeline.textContent())?.includes('HTTP 200') ? true : undefined;
      });

      // The other one: recovered with its endpoint's range.
      await page.goto(`${console_}/endpoints/${endpointId}`);
      await page.getByRole('button', { name: 'Recover' }).click();
      await expect(page.getByRole('status').first().textContent()).resolves.toContain(
        'Recovering 1 deliveries',
      );
      await eventually(async () => {
        const one = await herald.api('GET', `/v1/deliveries/${failed[0]!.id}`);
        return one.body.status === 'succeeded' ? true : undefined;
      });

      await page.goto(`${console_}/endpoints/${endpointId}/edit`);
      await check('endpoint-edit');
    });

    it('reconnects a Salesforce endpoint whose grant died, across sites, and its held deliveries go out', async () => {
      const sandboxOrigin = `http://127.0.0.1:${new URL(sandbox.url).port}`;
      const refreshToken = sandbox.issueRefreshToken();
      const key = Buffer.from(
        JSON.stringify({
          host: sandboxOrigin,
          client_id: sandbox.connectedApp.clientId,
          refresh_token: refreshToken,
        }),
      ).toString('base64');
      const created = await herald.api('POST', '/v1/endpoints', {
        url: `${sandboxOrigin}${APEX_PATH}`,
        events: ['PACKAGE_ACTIVATE'],
        description: 'Salesforce org',
        auth: { type: 'OAUTH2', salesforceKey: key },
      });
      expect(created.status).toBe(201);
      const endpointId = created.body.id as string;
      sandbox.revokeGrant(refreshToken);
      for (const pkg of ['pkg-sf-1', 'pkg-sf-2']) {
        await herald.api('POST', '/v1/events', { name: 'PACKAGE_ACTIVATE', packageId: pkg });
      }
      await eventually(async () => {
        const held = await herald.api('GET', `/v1/deliveries?endpoint=${endpointId}&status=held`);
        return held.body.data.length === 2 ? true : undefined;
      });
      expect(sandbox.received).toHaveLength(0);

      await page.goto(`${console_}/`);
      expect(await page.locator('#attention-title').isVisible()).toBe(true);
      expect(
        await page.locator('section[aria-labelledby="attention-title"]').textContent(),
      ).toContain('needs reauthorization');
      await check('overview');
      await page.goto(`${console_}/deliveries?status=held`);
      expect(await page.locator('#delivery-list .badge', { hasText: 'held' }).count()).toBe(2);

      await page.goto(`${console_}/endpoints/${endpointId}`);
      const redirectUri = (await page.locator('#redirect-uri').textContent())!;
      expect(redirectUri).toBe(`${console_}/oauth/callback`);
      sandbox.addCallbackUrl(redirectUri);
      await check('endpoint-salesforce');
      if (SCREENSHOTS) {
        await page
          .locator('section[aria-labelledby="connect"]')
          .screenshot({ path: join(SCREENSHOTS, 'console-connect.png') });
      }
      expect(await page.getByLabel('My Domain URL').inputValue()).toBe(sandboxOrigin);
      await page.getByRole('button', { name: 'Reconnect' }).click();

      // The sandbox's login page, on the other site, with PKCE S256 and a state.
      await page.waitForURL(/127\.0\.0\.1:\d+\/services\/oauth2\/authorize\?/);
      const authorize = new URL(page.url());
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expect(authorize.searchParams.get('redirect_uri')).toBe(redirectUri);
      await page.fill('#username', sandbox.users[0]!.username);
      await page.fill('#password', sandbox.users[0]!.password);
      await page.click('#login');
      await page.click('#allow');

      await page.waitForURL(`${console_}/endpoints/${endpointId}`);
      await expect(page.getByRole('status').first().textContent()).resolves.toContain('Connected');
      await eventually(
        () => (sandbox.received.length === 2 ? true : undefined),
        15_000,
        'held deliveries',
      );
      const endpoint = await herald.api('GET', `/v1/endpoints/${endpointId}`);
      expect(endpoint.body.auth.status).not.toBe('reauthorization_required');
      expect(await page.content()).not.toContain(refreshToken);
    });

    it('creates a Salesforce endpoint by logging in to the org from the new endpoint form', async () => {
      const sandboxOrigin = `http://127.0.0.1:${new URL(sandbox.url).port}`;
      const received = sandbox.received.length;
      await page.goto(`${console_}/endpoints/new`);
      await page.getByLabel('Listener URL').fill(`${sandboxOrigin}${APEX_PATH}`);
      await page.getByLabel('Signer completed signing').check();
      await page.getByLabel('How the listener checks Herald').selectOption('SALESFORCE_CONNECT');
      const redirectUri = (await page.locator('#new-redirect-uri').textContent())!;
      expect(redirectUri).toBe(`${console_}/oauth/callback`);
      sandbox.addCallbackUrl(redirectUri);
      await page.getByLabel('Connected App consumer key').fill(sandbox.connectedApp.clientId);
      await page.getByRole('radio', { name: 'My Domain or another URL' }).check();
      await page.getByLabel('My Domain URL').fill(sandboxOrigin);
      await page.getByRole('button', { name: 'Create endpoint' }).click();

      await page.waitForURL(/127\.0\.0\.1:\d+\/services\/oauth2\/authorize\?/);
      await page.fill('#username', sandbox.users[0]!.username);
      await page.fill('#password', sandbox.users[0]!.password);
      await page.click('#login');
      await page.click('#allow');
      await page.waitForURL(`${console_}/oauth/finish`);
      expect(await page.getByRole('status').first().textContent()).toContain('Connected');
      expect(await page.locator('#signing-secret').textContent()).toMatch(/^whsec_/);

      await herald.api('POST', '/v1/events', { name: 'SIGNER_COMPLETE', packageId: 'pkg-sf-new' });
      await eventually(
        () => (sandbox.received.length === received + 1 ? true : undefined),
        15_000,
        'the delivery to the new endpoint',
      );
      // Every endpoint and delivery of the story so far, as the README shows them.
      await nav('Endpoints');
      await check('endpoints');
      await nav('Deliveries');
      await page.locator('#delivery-list .badge', { hasText: 'succeeded' }).first().waitFor();
      await check('deliveries');
    });

    it("finds events by package id and shows an event's payload and where it went", async () => {
      await nav('Events');
      await page.getByLabel('Package id').fill('pkg-console-1');
      await page.getByRole('button', { name: 'Search' }).click();
      await check('events');
      await page.locator('table a.mono').first().click();
      expect(await page.locator('pre').first().textContent()).toContain(
        '"packageId": "pkg-console-1"',
      );
      expect(await page.locator('section[aria-labelledby="where"]').textContent()).toContain(
        `${listener.url}/hook`,
      );
      await check('event');
    });

    it('reads on a phone width without sideways scrolling', async () => {
      await page.setViewportSize(PHONE);
      for (const path of ['/', '/endpoints', '/deliveries', '/events']) {
        await page.goto(`${console_}${path}`);
        const overflow = await page.evaluate(() => {
          const root = (globalThis as any).document.documentElement;
          return root.scrollWidth - root.clientWidth;
        });
        expect(overflow, path).toBeLessThanOrEqual(1);
      }
      await page.setViewportSize(LAPTOP);
    });

    it('refuses a form posted from another site', async () => {
      const accountId = (await herald.services.accounts.defaultAccountId())!;
      const before = (await herald.services.endpoints.list(accountId)).length;
      // An attacker's page on another site, submitting a form to the console by itself.
      const evil: Server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<form id="f" method="post" action="${console_}/endpoints"><input name="url" value="http://127.0.0.1:9/evil"><input name="authType" value="NONE"><input name="events" value="*"></form><script>document.getElementById('f').submit()</script>`,
        );
      });
      await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
      try {
        await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
        await page.waitForURL(`${console_}/endpoints`);
        expect(await page.locator('h1').textContent()).toMatch(/Not allowed|Signed out/);
      } finally {
        evil.close();
      }
      expect((await herald.services.endpoints.list(accountId)).length).toBe(before);
    });

    it('signs in as the operator, who manages accounts and their keys', async () => {
      await page.goto(`${console_}/`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${console_}/sign-in`);
      await signIn(TEST_ADMIN_KEY);
      const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
      expect(await links.allTextContents()).toEqual([
        'Overview',
        'Endpoints',
        'Deliveries',
        'Events',
        'Accounts',
      ]);
      await nav('Accounts');
      await page.getByLabel('Name').fill('Globex');
      await page.getByLabel('Contact email').fill('ops@globex.test');
      await page.getByRole('button', { name: 'Create account' }).click();
      const key = (await page.locator('#new-api-key').textContent())!;
      expect(key).toMatch(/^hrd_/);
      await check('accounts');
      await page.getByRole('link', { name: 'Globex' }).click();
      expect(await page.content()).not.toContain(key);
      await check('account');
    });

    it('ends a session that has expired', async () => {
      await page.goto(`${console_}/`);
      clockOffset = 13 * 3600_000;
      await page.goto(`${console_}/endpoints`);
      await page.waitForURL(`${console_}/sign-in?expired`);
      expect(await page.getByRole('status').textContent()).toContain('Your session has expired');
      clockOffset = 0;
    });

    it('checked every page with axe-core', () => {
      expect(checked).toEqual(
        expect.arrayContaining([
          'sign-in',
          'overview',
          'endpoints',
          'endpoint',
          'endpoint-new',
          'endpoint-edit',
          'endpoint-salesforce',
          'deliveries',
          'delivery',
          'events',
          'event',
          'accounts',
          'account',
        ]),
      );
    });
  },
  180_000,
);
