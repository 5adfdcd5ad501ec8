import { describe, it, expect } from 'vitest';
import {
  DEFAULT_RETRY_SCHEDULE,
  JITTER,
  MAX_RETRY_AFTER,
  SLOW_DOWN_FLOOR,
  formatDuration,
  nextAttemptAt,
  parseDuration,
  parseRetryAfter,
  parseRetrySchedule,
} from '../../src/domain/retry.js';
import type { RetryInput } from '../../src/domain/retry.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON;
const SHORT = [0, 300, 300, 300] as const;

function wait(input: Partial<RetryInput> & Pick<RetryInput, 'triesDone'>): number | null {
  const at = nextAttemptAt({ schedule: DEFAULT_RETRY_SCHEDULE, now: NOW, random: 0.5, ...input });
  return at === null ? null : at - NOW;
}

describe('parseDuration', () => {
  it.each([
    ['0s', 0],
    ['0ms', 0],
    ['300ms', 300],
    ['5s', 5 * SECOND],
    ['5m', 5 * MINUTE],
    ['2h', 2 * HOUR],
    ['1d', 24 * HOUR],
    ['1.5m', 90 * SECOND],
    ['0.5s', 500],
    ['1.25s', 1250],
    [' 30s ', 30 * SECOND],
    ['30 s', 30 * SECOND],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    ' ',
    '5',
    's',
    'ms',
    '-1s',
    '+1s',
    '1.s',
    '.5s',
    '5S',
    '5sec',
    '5min',
    '5x',
    '1e3ms',
    '1s2s',
    '1,5s',
  ])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseRetrySchedule', () => {
  it.each([
    ['0s,300ms,300ms,300ms', [0, 300, 300, 300]],
    ['0s,200ms,1s', [0, 200, SECOND]],
    ['5s', [5 * SECOND]],
    [' 1s , 2m ,3h', [SECOND, 2 * MINUTE, 3 * HOUR]],
    ['7d', [7 * 24 * HOUR]],
    [
      '5s,5m,30m,2h,5h,10h,10h,14h,20h,24h',
      [
        5 * SECOND,
        5 * MINUTE,
        30 * MINUTE,
        2 * HOUR,
        5 * HOUR,
        10 * HOUR,
        10 * HOUR,
        14 * HOUR,
        20 * HOUR,
        24 * HOUR,
      ],
    ],
  ])('parses %j', (text, waits) => {
    expect(parseRetrySchedule(text)).toEqual(waits);
  });

  it.each(['', ',', '0s,', ',0s', '0s,,1s', '0s,abc', '1s;2s', '1s 2s', '5', '-1s', '8d', '169h'])(
    'refuses %j',
    (text) => {
      expect(parseRetrySchedule(text)).toBeUndefined();
    },
  );

  it('counts each entry as the wait before one more try: 4 waits allow 5 tries in all', () => {
    const schedule = parseRetrySchedule('0s,300ms,300ms,300ms')!;
    expect(schedule).toHaveLength(4);
    const tries = [1, 2, 3, 4, 5, 6].map((triesDone) =>
      nextAttemptAt({ triesDone, schedule, now: NOW, random: 0.5 }),
    );
    expect(tries).toEqual([NOW, NOW + 300, NOW + 300, NOW + 300, null, null]);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [300, '300ms'],
    [5 * SECOND, '5s'],
    [90 * SECOND, '90s'],
    [5 * MINUTE, '5m'],
    [2 * HOUR, '2h'],
    [24 * HOUR, '24h'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  it('round-trips the default schedule', () => {
    const text = DEFAULT_RETRY_SCHEDULE.map(formatDuration).join(',');
    expect(text).toBe('5s,5m,30m,2h,5h,10h,10h,14h,20h,24h');
    expect(parseRetrySchedule(text)).toEqual(DEFAULT_RETRY_SCHEDULE);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['1', SECOND],
    ['120', 120 * SECOND],
    ['  30 ', 30 * SECOND],
    ['86400', 24 * HOUR],
    ['86401', 24 * HOUR],
    ['999999999', 24 * HOUR],
  ])('reads delta-seconds %j as %d ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it.each([
    [new Date(NOW + 90 * SECOND).toUTCString(), 90 * SECOND],
    [new Date(NOW + 2 * HOUR).toUTCString(), 2 * HOUR],
    [new Date(NOW).toUTCString(), 0],
    // In the past: try at once, never a negative wait.
    [new Date(NOW - HOUR).toUTCString(), 0],
    // Further than 24 h away: capped.
    [new Date(NOW + 48 * HOUR).toUTCString(), 24 * HOUR],
  ])('reads HTTP date %j as %d ms from now', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it('reads the RFC 9110 example date', () => {
    const now = Date.UTC(2015, 9, 21, 7, 27, 0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(60 * SECOND);
  });

  it('has a 24 h cap', () => {
    expect(MAX_RETRY_AFTER).toBe(24 * HOUR);
  });

  it.each([undefined, '', '   ', 'soon', 'later please', '5 seconds', '120s', '12abc', '0x10'])(
    'ignores %j',
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );

  // Neither delta-seconds nor an HTTP date, but V8's lenient Date.parse reads each of these as a
  // date in 2001, which would make the next try immediate (and skip the slow-down floor).
  it.each(['1.5', '-5', '1,2', 'foo 1', 'Retry 2'])('ignores non-HTTP-date %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('nextAttemptAt', () => {
  it('exposes the spec constants', () => {
    expect(JITTER).toBe(0.2);
    expect(SLOW_DOWN_FLOOR).toBe(60 * SECOND);
    expect(DEFAULT_RETRY_SCHEDULE).toEqual([
      5 * SECOND,
      5 * MINUTE,
      30 * MINUTE,
      2 * HOUR,
      5 * HOUR,
      10 * HOUR,
      10 * HOUR,
      14 * HOUR,
      20 * HOUR,
      24 * HOUR,
    ]);
  });

  it.each([
    [1, 5 * SECOND],
    [2, 5 * MINUTE],
    [3, 30 * MINUTE],
    [4, 2 * HOUR],
    [5, 5 * HOUR],
    [6, 10 * HOUR],
    [7, 10 * HOUR],
    [8, 14 * HOUR],
    [9, 20 * HOUR],
    [10, 24 * HOUR],
  ])('waits the default step after try %d (%d ms, no jitter at random 0.5)', (triesDone, ms) => {
    expect(wait({ triesDone })).toBe(ms);
  });

  it('adds up to about three days', () => {
    const total = DEFAULT_RETRY_SCHEDULE.reduce((a, b) => a + b, 0);
    expect(total).toBe(85 * HOUR + 35 * MINUTE + 5 * SECOND);
  });

  it.each([
    // [triesDone, random, expected wait]
    [1, 0, 4 * SECOND],
    [1, ALMOST_ONE, 6 * SECOND],
    [1, 0.25, 4.5 * SECOND],
    [1, 0.75, 5.5 * SECOND],
    [2, 0, 4 * MINUTE],
    [2, ALMOST_ONE, 6 * MINUTE],
    [10, 0, 69_120_000],
    [10, ALMOST_ONE, 103_680_000],
  ])('applies the jitter: try %d, random %d → %d ms', (triesDone, random, ms) => {
    expect(wait({ triesDone, random })).toBe(ms);
  });

  it('keeps every jittered wait within ±20 % of its step', () => {
    for (let triesDone = 1; triesDone <= DEFAULT_RETRY_SCHEDULE.length; triesDone++) {
      const step = DEFAULT_RETRY_SCHEDULE[triesDone - 1]!;
      for (let r = 0; r < 1; r += 0.01) {
        const ms = wait({ triesDone, random: r })!;
        expect(ms).toBeGreaterThanOrEqual(step * 0.8);
        expect(ms).toBeLessThanOrEqual(step * 1.2);
      }
    }
  });

  it.each([
    [DEFAULT_RETRY_SCHEDULE, 10, false],
    [DEFAULT_RETRY_SCHEDULE, 11, true],
    [DEFAULT_RETRY_SCHEDULE, 12, true],
    [SHORT, 4, false],
    [SHORT, 5, true],
    [[0, 200, 1000], 3, false],
    [[0, 200, 1000], 4, true],
    [[5000], 1, false],
    [[5000], 2, true],
    [[], 1, true],
  ])('schedule %j after %d tries: exhausted=%s', (schedule, triesDone, exhausted) => {
    const at = nextAttemptAt({ triesDone, schedule, now: NOW, random: 0.5 });
    expect(at === null).toBe(exhausted);
  });

  it('is exhausted even when the listener sent Retry-After', () => {
    expect(wait({ triesDone: 11, retryAfterMs: 10 * SECOND })).toBeNull();
    expect(wait({ triesDone: 11, retryAfterMs: 10 * SECOND, slowDown: true })).toBeNull();
  });

  it.each([
    // [triesDone, retryAfterMs, slowDown, random, expected wait]
    [1, 2 * MINUTE, false, 0.5, 2 * MINUTE],
    [1, 2 * MINUTE, true, 0.5, 2 * MINUTE],
    // No jitter on Retry-After, and no floor: the listener said when.
    [1, 2 * MINUTE, true, 0, 2 * MINUTE],
    [1, 10 * SECOND, true, 0.5, 10 * SECOND],
    [1, 0, true, 0.5, 0],
    // Shorter than the schedule's step: still honoured.
    [10, 30 * SECOND, false, 0.5, 30 * SECOND],
    [3, 24 * HOUR, false, 0.5, 24 * HOUR],
  ])(
    'lets Retry-After take precedence: try %d, Retry-After %d ms, slowDown %s, random %d',
    (triesDone, retryAfterMs, slowDown, random, ms) => {
      expect(wait({ triesDone, retryAfterMs, slowDown, random })).toBe(ms);
    },
  );

  it.each([
    // [schedule, triesDone, random, expected wait]
    // The default schedule: at least 60 s after a slow-down.
    [DEFAULT_RETRY_SCHEDULE, 1, 0.5, 60 * SECOND],
    [DEFAULT_RETRY_SCHEDULE, 1, ALMOST_ONE, 60 * SECOND],
    [DEFAULT_RETRY_SCHEDULE, 1, 0, 60 * SECOND],
    // A longer step is not shortened by the floor, and keeps its jitter.
    [DEFAULT_RETRY_SCHEDULE, 2, 0.5, 5 * MINUTE],
    [DEFAULT_RETRY_SCHEDULE, 2, 0, 4 * MINUTE],
    [DEFAULT_RETRY_SCHEDULE, 3, ALMOST_ONE, 36 * MINUTE],
    // A schedule summing to less than 60 s: its longest step is the floor.
    [SHORT, 1, 0.5, 300],
    [SHORT, 2, 0, 300],
    [SHORT, 2, 0.5, 300],
    [SHORT, 2, ALMOST_ONE, 360],
    [SHORT, 4, 0, 300],
    [[0, 200, 1000], 1, 0.5, 1000],
    [[0, 200, 1000], 2, 0.5, 1000],
    [[0, 200, 1000], 3, 0, 1000],
    [[0, 0, 0], 1, 0.5, 0],
    // Summing to exactly 60 s is not shorter than the floor.
    [[0, 30 * SECOND, 30 * SECOND], 1, 0.5, 60 * SECOND],
    // Summing to more than 60 s with only short steps: the 60 s floor.
    [[10 * SECOND, 20 * SECOND, 40 * SECOND], 1, 0.5, 60 * SECOND],
    [[10 * SECOND, 20 * SECOND, 40 * SECOND], 3, 0.5, 60 * SECOND],
    [[0, 59 * SECOND], 1, 0.5, 59 * SECOND],
  ])(
    'applies the slow-down floor: schedule %j, try %d, random %d',
    (schedule, triesDone, random, ms) => {
      expect(wait({ schedule, triesDone, random, slowDown: true })).toBe(ms);
    },
  );

  it.each([
    [DEFAULT_RETRY_SCHEDULE, 1, 5 * SECOND],
    [SHORT, 1, 0],
    [SHORT, 2, 300],
    [[0, 200, 1000], 1, 0],
  ])('applies no floor without a slow-down: schedule %j, try %d', (schedule, triesDone, ms) => {
    expect(wait({ schedule, triesDone, slowDown: false })).toBe(ms);
    expect(wait({ schedule, triesDone })).toBe(ms);
  });

  it('returns an absolute time from now', () => {
    expect(nextAttemptAt({ triesDone: 1, schedule: [1000], now: 42, random: 0.5 })).toBe(1042);
  });
});
