// Latency buckets and the percentiles read from them; the activity rollup the stores write.

import { describe, expect, it } from 'vitest';
import { bucketValue, latencyBucket, latencyPercentile } from '../../src/domain/latency.js';
import type { AccountId, EndpointId } from '../../src/domain/ids.js';
import {
  activityOutcome,
  rollUpActivity,
  type EndpointHourRow,
  type LatencyRow,
  type MinuteRow,
} from '../../src/store/activity.js';

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

  it('adds up interleaved accounts, endpoints and minutes as one result at a time would', () => {
    // Results of two accounts and three endpoints, interleaved and crossing minutes, slices and
    // hours: each total must be what counting the results one by one gives.
    const statuses = ['succeeded', 'pending', 'failed', 'held'] as const;
    // Endpoints ep_0 and ep_1 belong to acc_0, ep_2 to acc_1.
    const facts = Array.from({ length: 400 }, (_, i) => {
      const endpoint = (Math.floor(i / 2) * 7) % 3;
      return {
        endpointId: `ep_${endpoint}` as EndpointId,
        accountId: `acc_${endpoint === 2 ? 1 : 0}` as AccountId,
        createdAt: 3_500_000 + i * 1_000 - ((i * 37) % 900),
        status: statuses[(i * 11) % 4]!,
        // Runs of a few results in the same minute, then a jump (sometimes back in time).
        updatedAt: 3_500_000 + Math.floor(i / 3) * 45_000 - (i % 17 === 0 ? 600_000 : 0) + i,
        lastError: i % 2 === 0 ? `error ${i}` : null,
      };
    });
    const count = <T>(rows: Map<string, T>, key: string, make: () => T): T => {
      if (!rows.has(key)) rows.set(key, make());
      return rows.get(key)!;
    };
    const minutes = new Map<string, MinuteRow>();
    const latency = new Map<string, LatencyRow>();
    const endpoints = new Map<string, EndpointHourRow>();
    for (const f of facts) {
      const outcome = activityOutcome(f.status);
      const minute = Math.floor(f.updatedAt / 60_000) * 60_000;
      for (const scope of [f.accountId, '*']) {
        const row = count(minutes, `${scope} ${minute}`, () => ({
          scope,
          minute,
          succeeded: 0,
          retried: 0,
          failed: 0,
        }));
        row[outcome]++;
        if (outcome === 'succeeded') {
          const slice = Math.floor(f.updatedAt / 600_000) * 600_000;
          const bucket = latencyBucket(f.updatedAt - f.createdAt);
          count(latency, `${scope} ${slice} ${bucket}`, () => ({ scope, slice, bucket, count: 0 }))
            .count++;
        }
      }
      const hour = Math.floor(f.updatedAt / 3_600_000) * 3_600_000;
      const row = count(endpoints, `${f.endpointId} ${hour}`, () => ({
        endpointId: f.endpointId,
        hour,
        accountId: f.accountId,
        succeeded: 0,
        retried: 0,
        failed: 0,
        lastError: null,
        lastErrorAt: null,
      }));
      row[outcome]++;
      if (
        outcome !== 'succeeded' &&
        f.lastError !== null &&
        f.updatedAt >= (row.lastErrorAt ?? 0)
      ) {
        row.lastError = f.lastError;
        row.lastErrorAt = f.updatedAt;
      }
    }
    const rows = rollUpActivity(facts);
    const sorted = <T>(list: T[], key: (row: T) => string): T[] =>
      [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const minuteKey = (r: MinuteRow) => `${r.scope} ${r.minute}`;
    const latencyKey = (r: LatencyRow) => `${r.scope} ${r.slice} ${r.bucket}`;
    const endpointKey = (r: EndpointHourRow) => `${r.endpointId} ${r.hour}`;
    expect(sorted(rows.minutes, minuteKey)).toEqual(sorted([...minutes.values()], minuteKey));
    expect(sorted(rows.latency, latencyKey)).toEqual(sorted([...latency.values()], latencyKey));
    expect(sorted(rows.endpoints, endpointKey)).toEqual(
      sorted([...endpoints.values()], endpointKey),
    );
    expect(rows.minutes.length).toBeGreaterThan(20);
    expect(rows.endpoints.length).toBeGreaterThan(6);
  });
});
