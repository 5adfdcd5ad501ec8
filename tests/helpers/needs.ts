// `describe` for suites that need a real part (Chromium, PostgreSQL): see real-parts.ts.

import { describe } from 'vitest';
import { onCi } from './real-parts.js';

/**
 * `describe` when the part is there. Without it: on CI the file fails, naming what is missing;
 * on a developer's machine the suite is skipped and the run prints what was skipped and why.
 */
export function describeNeeding(problem: string | undefined, suite: string): typeof describe {
  if (problem === undefined) return describe;
  if (onCi) throw new Error(`CI=true and "${suite}" cannot run: ${problem}`);
  console.warn(`skipping "${suite}": ${problem}`);
  return describe.skip as typeof describe;
}
