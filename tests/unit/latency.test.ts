// Latency buckets and the percentiles read from them; the activity rollup the stores write.

import { describe, expect, it } from 'vitest';
import { bucketValue, latencyBucket, latencyPercentile } from '../../src/domain/latency.js';
import type { AccountId, EndpointId } from '../../src/domain/ids.js';
import { activityOutcome, rollUpActivity } from '../../src/store/activity.js';

describe('latency buckets', () => {
  it.each([
    [0, 0],
    [0.5, 0],
    [1, 1],
    [2, 5],
    [4, 9],
    [1000, 40],
  ])('%d ms falls in bucket %d', (ms, bucket) => {
    expect(latencyBucket(ms)).toBe(bucket);
  });

  it('stands for a value within its own range, about 19 % wide', () => {
    for (const ms of [1.5, 7, 42, 950, 61_000, 3_600_000]) {
      const value = bucketValue(latencyBucket(ms));
      expect(value / ms).toBeGreaterThan(1 / 1.19);
      expect(value / ms).toBeLessThan(1.19);
    }
  });

  it('reads percentiles from counts', () => {
    const buckets = [
      { bucket: latencyBucket(10), count: 98 },
      { bucket: latencyBucket(5000), count: 2 },
    ];
    expect(latencyPercentile(buckets, 0.5)).toBeCloseTo(bucketValue(latencyBucket(10)));
    expect(latencyPercentile(buckets, 0.98)).toBeCloseTo(bucketValue(latencyBucket(10)));
    expect(latencyPercentile(buckets, 0.99)).toBeCloseTo(bucketValue(latencyBucket(5000)));
    expect(latencyPercentile([], 0.5)).toBeNull();
    expect(latencyPercentile([{ bucket: 3, count: 0 }], 0.5)).toBeNull();
  });
});

describe('activity rollup', () => {
  const ep = 'ep_1' as EndpointId;
  const acc = 'acc_1' as AccountId;
  const fact = (
    status: 'succeeded' | 'pending' | 'failed' | 'held',
    at: number,
    error?: string,
  ) => ({
    endpointId: ep,
    accountId: acc,
    createdAt: 0,
    status,
    updatedAt: at,
    lastError: error ?? null,
  });

  it('names outcomes: delivered, tried again, given up', () => {
    expect(activityOutcome('succeeded')).toBe('succeeded');
    expect(activityOutcome('pending')).toBe('retried');
    expect(activityOutcome('held')).toBe('retried');
    expect(activityOutcome('failed')).toBe('failed');
  });

  it('adds up per account and for all, per endpoint and hour with its latest error, in key order', () => {
    const rows = rollUpActivity([
      fact('pending', 61_000, 'second'),
      fact('pending', 60_500, 'first'),
      fact('succeeded', 10),
      fact('succeeded', 11),
      fact('failed', 5_000, 'gave up'),
    ]);
    expect(rows.minutes).toEqual([
      { scope: '*', minute: 0, succeeded: 2, retried: 0, failed: 1 },
      { scope: '*', minute: 60_000, succeeded: 0, retried: 2, failed: 0 },
      { scope: acc, minute: 0, succeeded: 2, retried: 0, failed: 1 },
      { scope: acc, minute: 60_000, succeeded: 0, retried: 2, failed: 0 },
    ]);
    expect(rows.latency).toEqual([
      { scope: '*', slice: 0, bucket: latencyBucket(10), count: 2 },
      { scope: acc, slice: 0, bucket: latencyBucket(10), count: 2 },
    ]);
    expect(rows.endpoints).toEqual([
      {
        endpointId: ep,
        hour: 0,
        accountId: acc,
        succeeded: 2,
        retried: 2,
        failed: 1,
        lastError: 'second',
        lastErrorAt: 61_000,
      },
    ]);
  });
});
