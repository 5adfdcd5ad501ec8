// The worker's wake-up signal: a notify is never lost between looks, and wakes one wait only.
// On a fake clock: whether a wait ended by a notify or by its time is known, not guessed.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkSignal } from '../../src/queue/work-signal.js';

/** Tracks whether a wait has ended. */
function watch(wait: Promise<void>): { readonly ended: boolean } {
  const state = { ended: false };
  void wait.then(() => (state.ended = true));
  return state;
}

/** Lets resolved promises run their callbacks, without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

/** The wait is still on a millisecond before `ms` has passed, and over when it has. */
async function expectTimesOutAfter(wait: Promise<void>, ms: number): Promise<void> {
  const waiting = watch(wait);
  await vi.advanceTimersByTimeAsync(ms - 1);
  expect(waiting.ended).toBe(false);
  await vi.advanceTimersByTimeAsync(1);
  expect(waiting.ended).toBe(true);
}

describe('WorkSignal', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('wakes a waiting worker at once', async () => {
    const signal = new WorkSignal();
    const waiting = watch(signal.wait(5000));
    await settle();
    expect(waiting.ended).toBe(false);
    signal.notify();
    await settle();
    expect(waiting.ended).toBe(true);
  });

  it('ends a wait nobody notifies after its time, not before', async () => {
    await expectTimesOutAfter(new WorkSignal().wait(50), 50);
  });

  it('remembers a notify that came while nobody waited, for the next wait only', async () => {
    const signal = new WorkSignal();
    signal.notify();
    const first = watch(signal.wait(5000));
    await settle();
    expect(first.ended).toBe(true);
    await expectTimesOutAfter(signal.wait(50), 50);
  });

  it('wakes the newest wait and ends the one it replaces', async () => {
    const signal = new WorkSignal();
    const older = watch(signal.wait(5000));
    const newer = watch(signal.wait(5000));
    await settle();
    expect(older.ended).toBe(true);
    expect(newer.ended).toBe(false);
    signal.notify();
    await settle();
    expect(newer.ended).toBe(true);
    // That notify was used: the next wait sleeps its time.
    await expectTimesOutAfter(signal.wait(100), 100);
  });
});
