// The benchmark's figures: a ratio against paired baseline runs is the median of the per-run
// ratios, so a load drifting between runs moves each pair together, not the quoted ratio.

import { describe, expect, it } from 'vitest';
import { metric } from '../../bench/lib/result.js';

describe('bench metric ratios', () => {
  it('quotes the median of per-run ratios against paired baseline runs', () => {
    // The machine slows down over the runs: Herald and the raw run before it slow together.
    const m = metric('deliveries/s', 'deliveries/s', [20_000, 15_000, 10_000], {
      paired: { scenario: 'raw', name: 'requests/s', runs: [40_000, 25_000, 20_000] },
      target: { of: 'ratio', op: '>=', value: 0.5 },
    });
    expect(m.ratio).toEqual({ to: 'raw requests/s, paired runs', value: 0.5 });
    expect(m.met).toBe(true);
    expect(m.median).toBe(15_000);
  });

  it('divides medians when the baseline is the other scenario', () => {
    const baseline = { ...metric('requests/s', 'req/s', [40_000]), scenario: 'raw' };
    const m = metric('deliveries/s', 'deliveries/s', [18_000], {
      baseline,
      target: { of: 'ratio', op: '>=', value: 0.5 },
    });
    expect(m.ratio).toEqual({ to: 'raw requests/s', value: 0.45 });
    expect(m.met).toBe(false);
  });

  it('refuses paired runs that do not match the runs one for one', () => {
    expect(() =>
      metric('deliveries/s', 'deliveries/s', [1, 2], {
        paired: { scenario: 'raw', name: 'requests/s', runs: [1] },
      }),
    ).toThrow(/2 runs but 1 paired/);
  });
});
