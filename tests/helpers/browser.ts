// Headless Chromium (Debian's package) driven by playwright-core; no browser download.

import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, chromiumProblem, onCi } from './real-parts.js';

export { CHROMIUM };
export const chromiumMissing = chromiumProblem();
if (onCi && chromiumMissing)
  throw new Error(`CI=true and Chromium is required: ${chromiumMissing}`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}
