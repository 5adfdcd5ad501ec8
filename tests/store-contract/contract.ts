// The store contract: what every `Store` adapter must do, written against store/port.ts only.
// Each adapter's test file calls `storeContract` with a factory for a fresh, empty store; the
// suite migrates it itself. Times are explicit (`T0` + offsets), never the wall clock.
// The lifecycle is checked here; each part of the port has its part of the contract in a file
// of its own, wired in below (helpers.ts has what they share).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/port.js';
import { anAccount } from '../helpers/store.js';
import { accountsContract } from './accounts.js';
import { consoleQueriesContract } from './console-queries.js';
import { copyContract } from './copy.js';
import { endpointsContract } from './endpoints.js';
import { ingestContract } from './ingest.js';
import { ingestLeasedContract } from './ingest-leased.js';
import { operationsContract } from './operations.js';
import { queueClaimsContract } from './queue-claims.js';
import { queueReadsContract } from './queue-reads.js';
import { queueResultsContract } from './queue-results.js';
import { tokensContract } from './tokens.js';
import { transitionsContract } from './transitions.js';

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

export function storeContract(name: string, makeStore: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });

    afterEach(async () => {
      await cleanup();
    });

    // ---- migrations ------------------------------------------------------------------------

    describe('migrate', () => {
      it('applies every migration to a fresh store and reports them', async () => {
        const report = await store.migrate();
        expect(report.from).toBe(0);
        expect(report.to).toBeGreaterThan(0);
        expect(report.applied).toHaveLength(report.to - report.from);
        for (const migration of report.applied) expect(migration).toMatch(/^\d{4}_[a-z0-9_]+$/);
      });

      it('is idempotent: a second run applies nothing and keeps the data', async () => {
        const first = await store.migrate();
        const account = anAccount();
        await store.insertAccount(account);
        const second = await store.migrate();
        expect(second).toEqual({ from: first.to, to: first.to, applied: [] });
        expect(await store.getAccount(account.id)).toEqual(account);
      });

      it('describes itself and declares its capabilities', async () => {
        await store.migrate();
        expect(typeof store.description).toBe('string');
        expect(store.description.length).toBeGreaterThan(0);
        expect(store.capabilities).toEqual({
          concurrentWorkers: expect.any(Boolean),
          crossProcessWakeups: expect.any(Boolean),
          singleProcess: expect.any(Boolean),
        });
      });
    });

    describe('with a migrated store', () => {
      beforeEach(async () => {
        await store.migrate();
      });

      // Operational events, the email outbox and retention (operations.ts).
      operationsContract(() => store);

      // Every move between delivery statuses, against domain/transitions.ts (transitions.ts).
      transitionsContract(() => store);

      // Settings, accounts and API keys (SettingsStore, AccountStore).
      accountsContract(() => store);

      // Endpoints (EndpointStore).
      endpointsContract(() => store);

      // Ingest and events (IngestStore).
      ingestContract(() => store);
      ingestLeasedContract(() => store);

      // The delivery queue (QueueStore): claims and leases, results and holds, reads and stats.
      queueClaimsContract(() => store);
      queueResultsContract(() => store);
      queueReadsContract(() => store);

      // Delivery activity and what else the console reads (ActivityStore).
      consoleQueriesContract(() => store);
    });

    // OAuth token records (TokenStore).
    tokensContract(() => store);

    // Moving work between stores (CopyStore).
    copyContract(() => store);
  });
}
