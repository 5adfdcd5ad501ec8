// The sandbox's login and consent pages in a real browser, completing `herald connect`.

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import { describeNeeding } from '../helpers/needs.js';
import { connectToSandbox } from '../helpers/process.js';

describeNeeding(chromiumMissing, 'sandbox login in headless Chromium')(
  'sandbox login in headless Chromium',
  () => {
    let sandbox: Sandbox;
    let browser: Browser;

    beforeAll(async () => {
      sandbox = await startSandbox();
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await sandbox?.close();
    });

    async function start() {
      return (await connectToSandbox(sandbox, () => ['--print'])).run;
    }

    it('logs in, allows, and lands on the CLI page while the CLI prints the refresh token', async () => {
      const run = await start();
      const page = await browser.newPage();
      await page.goto(await run.authorizeUrl);
      await page.fill('#username', sandbox.users[0]!.username);
      await page.fill('#password', 'wrong password');
      await page.click('#login');
      await page.waitForSelector('#error');
      await page.fill('#password', sandbox.users[0]!.password);
      await page.click('#login');
      expect(await page.textContent('#scopes')).toContain('refresh_token');
      await page.click('#allow');
      await page.waitForURL(/\/OauthRedirect\?code=/);
      expect(await page.textContent('h1')).toBe('Herald: connected');
      const result = await run.done;
      expect(result.code, result.stderr).toBe(0);
      const token = /Refresh token: (\S+)/.exec(result.stdout)![1]!;
      expect(sandbox.stats.isGrantAlive(token)).toBe(true);
      await page.close();
    });

    it('denies, and the CLI says access was denied', async () => {
      const run = await start();
      const page = await browser.newPage();
      await page.goto(await run.authorizeUrl);
      await page.fill('#username', sandbox.users[0]!.username);
      await page.fill('#password', sandbox.users[0]!.password);
      await page.click('#login');
      await page.click('#deny');
      await page.waitForURL(/error=access_denied/);
      expect(await page.textContent('h1')).toBe('Herald: not connected');
      const result = await run.done;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Access was denied/);
      await page.close();
    });
  },
);
