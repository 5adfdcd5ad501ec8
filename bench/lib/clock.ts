// One clock for every bench process. `performance.timeOrigin` is the process start read from the
// system clock with microsecond precision, so `timeOrigin + now()` is a sub-millisecond wall
// clock that means the same thing in the runner and in its children on one machine. Children
// are still calibrated against the runner over IPC (child.ts) so a skew cannot creep in.

export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `what` after `ms`, so every wait in the bench is bounded. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
