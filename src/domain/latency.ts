// Publish-to-delivered latency kept as counts in log-scale buckets, four per doubling (each
// bucket about 19 % wide), so that stores can add them up per minute and anyone can read a
// percentile from the sums without keeping every delivery's time.

const PER_DOUBLING = 4;

/** Bucket 0 holds latencies under 1 ms; bucket k >= 1 holds [2^((k-1)/4), 2^(k/4)) ms. */
export function latencyBucket(ms: number): number {
  if (!(ms >= 1)) return 0;
  return Math.floor(Math.log2(ms) * PER_DOUBLING) + 1;
}

/** The value a bucket stands for: the geometric middle of its range, in ms. */
export function bucketValue(bucket: number): number {
  if (bucket <= 0) return 0;
  return 2 ** ((bucket - 0.5) / PER_DOUBLING);
}

export interface BucketCount {
  readonly bucket: number;
  readonly count: number;
}

/**
 * The latency under which a fraction `p` (0 < p <= 1) of the counted deliveries fell, read from
 * bucket counts; null when nothing was counted. Accurate to the bucket width (about 19 %).
 */
export function latencyPercentile(buckets: readonly BucketCount[], p: number): number | null {
  const sorted = [...buckets].filter((b) => b.count > 0).sort((a, b) => a.bucket - b.bucket);
  const total = sorted.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const b of sorted) {
    seen += b.count;
    if (seen >= rank) return bucketValue(b.bucket);
  }
  return bucketValue(sorted.at(-1)!.bucket);
}
