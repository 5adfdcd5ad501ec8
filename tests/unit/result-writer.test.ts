// The result writer under steady load: results keep arriving while every write runs, so its
// queue never runs dry. What it has written must not stay reachable from it; a writer whose
// each write awaited the next kept every batch of a long drain alive until the drain ended.

import { setImmediate as nextTask } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.js';
import { silentLogger } from '../../src/observability/logger.js';
import { ResultWriter } from '../../src/queue/result-writer.js';
import type { DeliveryResult, Store } from '../../src/store/port.js';
import { collectGarbage } from '../helpers/gc.js';
import { aResult, T0 } from '../helpers/store.js';

/** A store whose writes each take one turn of the event loop. */
function slowStore(written: string[]): Store {
  return {
    recordResults: async (results: readonly DeliveryResult[]) => {
      await nextTask();
      written.push(...results.map((r) => r.deliveryId));
    },
  } as unknown as Store;
}

const result = (): DeliveryResult => aResult(newId('delivery', T0), 'w1', 'succeeded', T0);

describe('ResultWriter', () => {
  it('lets go of written results while it keeps writing', async () => {
    const written: string[] = [];
    const writer = new ResultWriter(slowStore(written), silentLogger(), () => {});
    const first = ((): { ref: WeakRef<DeliveryResult>; id: string } => {
      const r = result();
      writer.push(r);
      return { ref: new WeakRef(r), id: r.deliveryId };
    })();

    // One new result per turn: the queue is never empty when a write ends.
    for (let i = 0; i < 10; i++) {
      writer.push(result());
      await nextTask();
    }
    expect(written).toContain(first.id);
    // Still writing: the last results are queued or on their way to the store.
    expect(written.length).toBeLessThan(11);

    collectGarbage();
    expect(first.ref.deref()).toBeUndefined();
    expect(await writer.flush(1000)).toBe(true);
    expect(written).toHaveLength(11);
  });

  it('writes a result pushed just as a write ends, whatever the moment', async () => {
    const written: string[] = [];
    for (let depth = 0; depth < 6; depth++) {
      const late = result();
      let once = true;
      const writer = new ResultWriter(slowStore(written), silentLogger(), () => {
        if (!once) return;
        once = false;
        pushLater(depth);
      });
      // The moment after a write is a few microtasks long: push at each depth of it.
      const pushLater = (n: number): void => {
        if (n === 0) writer.push(late);
        else void Promise.resolve().then(() => pushLater(n - 1));
      };
      writer.push(result());
      for (let i = 0; i < 5 && !written.includes(late.deliveryId); i++) await nextTask();
      expect(written, `pushed ${depth} microtasks after a write`).toContain(late.deliveryId);
    }
  });
});
