// CPU time a set of processes has used, from /proc/<pid>/stat (Linux): user + system time of
// every thread of each process, summed. The sustained runs read it before and after the timed
// part, for a figure a busy shared machine disturbs far less than throughput: it slows a run
// down, but adds little to the work each delivery costs. Never throws: a figure the bench
// cannot read is null, and the run's metric NaN.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * utime + stime (fields 14 and 15, in clock ticks) of one /proc/<pid>/stat line; null if the
 * line is not one. The command name (field 2) is in parentheses and may itself hold spaces and
 * parentheses, so the fields are counted from the last `)`.
 */
export function parseStatTicks(line: string): number | null {
  const end = line.lastIndexOf(')');
  if (end < 0) return null;
  // After ") " come field 3 (the state) and on: fields 14 and 15 are at indexes 11 and 12.
  const fields = line.slice(end + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isInteger(utime) && Number.isInteger(stime) ? utime + stime : null;
}

let ticksPerSecond: number | null | undefined;

/** The kernel's clock ticks per second for these times (USER_HZ, normally 100). */
function clockTicks(): number | null {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : null;
    } catch {
      ticksPerSecond = null; // no getconf: no figure rather than a guessed tick rate
    }
  }
  return ticksPerSecond;
}

/**
 * CPU ms the processes `pids` have used since each started, summed; null when there are none,
 * when one is gone (the difference of two readings would be wrong) or where /proc is missing.
 */
export function cpuMsOf(pids: readonly number[]): number | null {
  // The tick rate first: its first read runs getconf, which should not fall inside a timed part.
  const hz = clockTicks();
  if (hz === null || pids.length === 0) return null;
  let ticks = 0;
  for (const pid of pids) {
    let line: string;
    try {
      line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return null;
    }
    const own = parseStatTicks(line);
    if (own === null) return null;
    ticks += own;
  }
  return (ticks * 1000) / hz;
}
