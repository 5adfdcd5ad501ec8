// The sustained runs' CPU per delivery: /proc/<pid>/stat read right, whatever the process is
// called, and a process that is gone gives no figure rather than a wrong one.

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuMsOf, parseStatTicks } from '../../bench/lib/proc-cpu.js';

/** Above the kernel's highest possible pid (PID_MAX_LIMIT, 2^22): never a live process. */
const NO_SUCH_PID = 2 ** 22 + 1;

describe('parseStatTicks', () => {
  const tail = '1 2 3 4 5 6 7 8 9 10 250 70 0 0 20 0 5 0 5387';

  it('adds utime and stime, fields 14 and 15', () => {
    expect(parseStatTicks(`2247 (redis-server) S ${tail}`)).toBe(320);
  });

  it('counts the fields from the last parenthesis when the name holds spaces and parentheses', () => {
    expect(parseStatTicks(`123 (a b) c) S ${tail}`)).toBe(320);
    expect(parseStatTicks(`123 ()) R ${tail}`)).toBe(320);
  });

  it('gives null for what is not a stat line', () => {
    expect(parseStatTicks('')).toBeNull();
    expect(parseStatTicks('123 (node) S 1 2 3')).toBeNull();
  });
});

describe.runIf(existsSync('/proc/self/stat'))('cpuMsOf', () => {
  it("grows by this process's own CPU time after a busy loop", () => {
    const before = cpuMsOf([process.pid]);
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 200_000) {
      // busy: asking for the CPU time is the work
    }
    const after = cpuMsOf([process.pid]);
    expect(before).not.toBeNull();
    // 200 ms of user time, read in clock ticks (10 ms): at least 190 ms more.
    expect(after! - before!).toBeGreaterThanOrEqual(190);
  });

  it('gives null when a process does not exist, even among live ones', () => {
    expect(cpuMsOf([NO_SUCH_PID])).toBeNull();
    expect(cpuMsOf([process.pid, NO_SUCH_PID])).toBeNull();
    expect(cpuMsOf([])).toBeNull();
  });
});
