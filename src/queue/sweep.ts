// The worker's periodic sweep of the store: deliveries whose lease ran out (a worker died, or a
// result this process could not store) go back to pending, and holds that a late result wrote
// after their endpoint was re-enabled are released. Either wakes the claim loop.

import type { Logger } from '../observability/logger.js';
import type { QueueStore } from '../store/port.js';
import type { WorkSignal } from './work-signal.js';

export async function sweepLeasesAndHolds(
  store: QueueStore,
  logger: Logger,
  signal: WorkSignal,
  now: () => number,
): Promise<void> {
  try {
    const recovered = await store.recoverLeases(now(), false);
    if (recovered > 0) {
      logger.warn({ recovered }, 'took over deliveries whose lease expired (a worker died?)');
      signal.notify();
    }
  } catch (error) {
    logger.error({ err: error }, 'could not recover expired leases');
  }
  try {
    const released = await store.releaseStrandedHolds(now());
    if (released > 0) {
      logger.info({ released }, 'released held deliveries of endpoints that accept work');
      signal.notify();
    }
  } catch (error) {
    logger.error({ err: error }, 'could not release stranded holds');
  }
}
