// `herald demo` runs to its summary on a fresh machine with no network and no accounts.

import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.js';

describe('herald demo', () => {
  it('runs end to end and reports every delivery made, the grant alive, one token request at a time', async () => {
    const result = await runCli(['demo', '--transactions', '6'], {}, 90_000);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/Summary/);
    expect(result.stdout).toMatch(/deliveries\s+(\d+) of \1 delivered, 0 failed, 0 held/);
    expect(result.stdout).toMatch(/grant\s+still alive/);
    expect(result.stdout).toMatch(/most at once\s+1 token request/);
    expect(result.stdout).toMatch(/rotated-out tokens presented: 0/);
  }, 120_000);
});
