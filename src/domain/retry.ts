// When the next attempt happens. Pure: the clock and the random source come in as arguments.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Waits before each retry after the first try: about three days in all (Standard Webhooks). */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [
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
];

export const JITTER = 0.2;
export const MAX_RETRY_AFTER = 24 * HOUR;
/** The longest wait one entry of a retry schedule may ask for. */
export const MAX_RETRY_WAIT = 7 * 24 * HOUR;
/** After a 429, a 503 or a timeout without Retry-After, wait at least this long. */
export const SLOW_DOWN_FLOOR = 60 * SECOND;

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
  d: 24 * HOUR,
};

/** Parses a duration such as `300ms`, `5s`, `2h` or `1.5m`; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}

/** Parses `0s,300ms,5m`: each entry is the wait before one more try. */
export function parseRetrySchedule(text: string): number[] | undefined {
  const parts = text.split(',');
  const waits = parts.map(parseDuration);
  if (waits.length === 0 || waits.some((w) => w === undefined || w > MAX_RETRY_WAIT)) {
    return undefined;
  }
  return waits as number[];
}

export function formatDuration(ms: number): string {
  if (ms % HOUR === 0 && ms > 0) return `${ms / HOUR}h`;
  if (ms % MINUTE === 0 && ms > 0) return `${ms / MINUTE}m`;
  if (ms % SECOND === 0) return `${ms / SECOND}s`;
  return `${ms}ms`;
}

const HTTP_DATE = [
  /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, // IMF-fixdate
  /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/, // RFC 850
  /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/, // asctime
];

/** Parses a Retry-After value (delta-seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * SECOND, MAX_RETRY_AFTER);
  // Only the three HTTP-date forms (RFC 9110 5.6.7): Date.parse alone reads "1.5" as a date.
  if (!HTTP_DATE.some((form) => form.test(trimmed))) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - now, 0), MAX_RETRY_AFTER);
}

export interface RetryInput {
  /** Tries made in this cycle, including the one that just failed (1 after the first try). */
  readonly triesDone: number;
  readonly schedule: readonly number[];
  /** From the listener's Retry-After header, already capped. */
  readonly retryAfterMs?: number | undefined;
  /** The listener asked to slow down (429, 503) or did not answer in time. */
  readonly slowDown?: boolean;
  readonly now: number;
  /** A number in [0, 1); Math.random in production, fixed in tests. */
  readonly random: number;
}

/**
 * The time of the next try, or null when the schedule is exhausted.
 * Retry-After takes precedence over the schedule. Without it, a slow-down waits at least
 * SLOW_DOWN_FLOOR, or the schedule's longest step where the whole schedule is shorter than that.
 */
export function nextAttemptAt(input: RetryInput): number | null {
  const { triesDone, schedule, now } = input;
  if (triesDone > schedule.length) return null;
  const step = schedule[triesDone - 1] ?? 0;
  if (input.retryAfterMs !== undefined) return now + input.retryAfterMs;
  const jittered = Math.round(step * (1 + JITTER * (2 * input.random - 1)));
  let wait = jittered;
  if (input.slowDown) {
    const total = schedule.reduce((a, b) => a + b, 0);
    const floor = total < SLOW_DOWN_FLOOR ? Math.max(...schedule) : SLOW_DOWN_FLOOR;
    wait = Math.max(wait, floor);
  }
  return now + wait;
}
