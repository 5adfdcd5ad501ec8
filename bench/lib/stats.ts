// Summaries quoted by the bench: medians (robust to one noisy run on a shared machine), min and
// max of the runs, and nearest-rank percentiles for latencies.

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function median(values: readonly number[]): number {
  const s = sorted(values);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summarise(values: readonly number[]): Summary {
  const s = sorted(values);
  return {
    median: median(s),
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    runs: values,
  };
}

/** Nearest-rank percentile (p in 0..100) of already sorted values. */
export function percentileOfSorted(s: ArrayLike<number>, p: number): number {
  if (s.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

/** Events per second between the first and the last of `count` arrivals. */
export function ratePerSecond(count: number, firstAt: number, lastAt: number): number {
  const seconds = (lastAt - firstAt) / 1000;
  return count > 1 && seconds > 0 ? (count - 1) / seconds : NaN;
}
