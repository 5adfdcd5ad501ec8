// The worker's wake-up signal: a notify is never lost between looks, and wakes one wait only.

import { describe, expect, it } from 'vitest';
import { WorkSignal } from '../../src/services/work-signal.js';

const elapsed = async (work: Promise<void>): Promise<number> => {
  const started = performance.now();
  await work;
  return performance.now() - started;
};

describe('WorkSignal', () => {
  it('wakes a waiting worker at once', async () => {
    const signal = new WorkSignal();
    const waiting = elapsed(signal.wait(5000));
    signal.notify();
    expect(await waiting).toBeLessThan(1000);
  });

  it('remembers a notify that came while nobody waited, for the next wait only', async () => {
    const signal = new WorkSignal();
    signal.notify();
    expect(await elapsed(signal.wait(5000))).toBeLessThan(1000);
    expect(await elapsed(signal.wait(50))).toBeGreaterThanOrEqual(40);
  });
});
