// A publish must not keep its events alive while they commit. With the embedded store on its own
// thread the batch is copied to the thread when it is handed over; if the main thread still held
// it (a local of a suspended async function, a closure sharing its context) every in-flight batch
// would survive the young generation's collections and fill the old one, which is what made the
// backlog benchmark's Herald 70 MiB larger with the thread than without.

import { setImmediate as nextTask } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { EndpointRepository } from '../../src/services/endpoint-repo.js';
import { IngestService } from '../../src/services/ingest.js';
import { generateMasterKey, SecretBox } from '../../src/services/secret-box.js';
import { WorkSignal } from '../../src/queue/work-signal.js';
import type { IngestBatch, IngestOutcome } from '../../src/store/port.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { collectGarbage } from '../helpers/gc.js';
import { anAccount, anEndpoint, T0 } from '../helpers/store.js';

/** A store that copies what it is handed, as the store thread's postMessage does, and commits when told to. */
class GatedStore extends SqliteStore {
  readonly handedOver: WeakRef<IngestBatch>[] = [];
  readonly gates: Array<() => void> = [];

  override ingest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    // As postMessage does: the store keeps a copy, not the caller's objects.
    const copy = structuredClone(batches);
    for (const batch of batches) this.handedOver.push(new WeakRef(batch));
    return new Promise((resolve, reject) => {
      this.gates.push(() => super.ingest(copy).then(resolve, reject));
    });
  }
}

describe('IngestService', () => {
  let store: GatedStore;
  let service: IngestService;
  let accountId: ReturnType<typeof anAccount>['id'];

  beforeEach(async () => {
    store = new GatedStore({ path: ':memory:' });
    await store.migrate();
    const account = anAccount();
    accountId = account.id;
    await store.insertAccount(account);
    await store.insertEndpoint(anEndpoint(accountId));
    const repo = new EndpointRepository(store, SecretBox.fromText(generateMasterKey()), () => T0);
    service = new IngestService(store, repo, () => T0, new WorkSignal(), new Metrics());
  });

  afterEach(async () => {
    await store.close();
  });

  /** Publishes a batch that nothing else refers to; returns the publish and a weak view of it. */
  function publishUnreferenced(count: number): {
    input: WeakRef<object>;
    done: ReturnType<IngestService['publish']>;
  } {
    const events = Array.from({ length: count }, (_, i) => ({
      name: 'PACKAGE_COMPLETE',
      packageId: `pkg-${i}`,
    }));
    return {
      input: new WeakRef(events),
      done: service.publish(accountId, events, JSON.stringify(events), undefined),
    };
  }

  it('keeps neither the request nor the batch alive while the batch commits', async () => {
    const { input, done } = publishUnreferenced(50);
    // A new task: the batch has been handed over, and WeakRef targets are no longer pinned.
    await nextTask();
    expect(store.gates).toHaveLength(1);
    collectGarbage();
    expect(input.deref()).toBeUndefined();
    expect(store.handedOver[0]!.deref()).toBeUndefined();

    store.gates[0]!();
    const result = await done;
    expect(result.replayed).toBe(false);
    const { ids } = JSON.parse(result.body) as { ids: string[] };
    expect(ids).toHaveLength(50);
    expect((await store.getEvent(accountId, ids[0] as never))?.packageId).toBe('pkg-0');
  });

  it('hands each batch over at once instead of waiting for the commit before it', async () => {
    const first = publishUnreferenced(3);
    const second = publishUnreferenced(3);
    await nextTask();
    // Both are with the store although neither has committed.
    expect(store.gates).toHaveLength(2);
    for (const open of store.gates) open();
    const results = await Promise.all([first.done, second.done]);
    expect(results.map((r) => r.replayed)).toEqual([false, false]);
  });
});
