// The embedded store on its own thread. better-sqlite3 is synchronous: on the main thread every
// statement, and every commit's fsync, pauses the HTTP work of the event loop. Here the main
// thread forwards each call to one worker thread that owns the database (an SqliteStore) and
// answers in order, so store work and network work run on two cores at once. Same file, same
// statements, same store contract.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type {
  ClaimQuery,
  ClaimedDelivery,
  DeliveryResult,
  IngestBatch,
  IngestOutcome,
  Store,
  StoreCapabilities,
  StoreCopy,
} from '../port.js';
import { GroupCommit } from '../group-commit.js';
import { STORE_THREAD_EXITED } from '../../domain/store-unavailable.js';
import {
  decodeClaimed,
  encodeIngest,
  encodeResults,
  FLAT_CLAIM,
  FLAT_INGEST,
  FLAT_RESULTS,
} from './thread-codec.js';
import { SQLITE_CAPABILITIES, sqliteDescription, type SqliteStoreOptions } from './sqlite-store.js';

type Method = {
  [K in keyof Store]: Store[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Store];
/**
 * Answered here: the thread owns no subscribers, close ends the thread, and the three busiest
 * calls cross as flat arrays (thread-codec.ts).
 */
type Local =
  'close' | 'subscribeWork' | 'claimDeliveries' | 'recordResults' | 'ingest' | 'importCopy';

/** Every other method of the store port; the compiler checks that none is missing. */
const FORWARDED = [
  'migrate',
  'ping',
  'getSetting',
  'initSetting',
  'insertAccount',
  'getAccount',
  'updateAccount',
  'listAccounts',
  'insertApiKey',
  'findApiKeyByHash',
  'listApiKeys',
  'revokeApiKey',
  'insertEndpoint',
  'updateEndpoint',
  'getEndpoint',
  'findEndpointByOrigin',
  'listEndpoints',
  'deleteEndpoint',
  'existingEndpoints',
  'countEndpointsByState',
  'getEvent',
  'searchEvents',
  'renewLeases',
  'releaseLeases',
  'recoverLeases',
  'nextDueAt',
  'holdDeliveries',
  'releaseHeldDeliveries',
  'releaseStrandedHolds',
  'listDeliveries',
  'getDelivery',
  'listAttempts',
  'redeliver',
  'recover',
  'queueStats',
  'accountQueueStats',
  'deliveryActivity',
  'endpointActivity',
  'getToken',
  'saveToken',
  'acquireTokenLock',
  'releaseTokenLock',
  'exportWork',
  'importWork',
  'importToken',
  'insertOperationalEvent',
  'listOperationalEvents',
  'undispatchedOperationalEvents',
  'dispatchOperationalEvent',
  'claimAlertEmails',
  'finishAlertEmail',
  'purge',
] as const satisfies readonly Exclude<Method, Local>[];
type Unforwarded = Exclude<Method, (typeof FORWARDED)[number] | Local>;
const everyMethodForwarded: [Unforwarded] extends [never] ? true : Unforwarded = true;
void everyMethodForwarded;

export interface StoreCall {
  readonly id: number;
  readonly method: string;
  readonly args: unknown[];
}

export interface ThreadErrorReport {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
  readonly stack: string | undefined;
}

export interface StoreReply {
  readonly id: number;
  readonly value?: unknown;
  readonly error?: ThreadErrorReport;
}

/** An error thrown on the store thread, with the name and code it had there. */
export class StoreThreadError extends Error {
  readonly code: string | undefined;
  constructor(report: ThreadErrorReport) {
    super(report.message);
    this.name = report.name;
    this.code = report.code;
    if (report.stack) this.stack = report.stack;
  }
}

/**
 * The thread keeps no JavaScript state beyond the call it is running, but a call's arguments and
 * rows (a group of publish batches, a claim's payloads) are megabytes. With a 2 MiB young
 * generation it collected about every megabyte it allocated: 194 scavenges in a 5-second
 * sustained run, 36 with 8 MiB (which costs a few MiB more resident memory at most).
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 8 };
/** After the thread stops unexpectedly, a new one is started at most this often. */
const RESTART_INTERVAL_MS = 1000;

/** Runs the store thread from the built JavaScript, or from sources through tsx (tests). */
function startThread(options: SqliteStoreOptions): Worker {
  const here = new URL(import.meta.url);
  const settings = { workerData: options, resourceLimits: THREAD_LIMITS };
  if (!here.pathname.endsWith('.ts'))
    return new Worker(new URL('./store-thread.js', here), settings);
  const entry = new URL('./store-thread.ts', here).href;
  const boot = `import(${JSON.stringify(tsxEsmApi(here))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...settings, eval: true });
}

/** tsx's ESM API (the `import` condition of its `./esm/api` export), found from `from`. */
function tsxEsmApi(from: URL): string {
  const manifest = createRequire(from).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(exports['./esm/api']!.import.default, pathToFileURL(manifest)).href;
}

// Merged with the interface at the end, which types the forwarded methods.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ThreadedSqliteStore implements Store {
  readonly description: string;
  readonly capabilities: StoreCapabilities = SQLITE_CAPABILITIES;
  private worker: Worker | null = null;
  private readonly waiting = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void }
  >();
  private nextId = 1;
  private closed = false;
  /**
   * Publish batches are encoded as they arrive (so the caller's objects can be collected) and
   * sent to the thread as one call: one message and one transaction for many publish requests.
   */
  private readonly ingests = new GroupCommit<unknown[]>({
    create: () => [],
    add: (flat, batches) => {
      const before = flat.length;
      try {
        encodeIngest(batches, flat);
      } catch (error) {
        // Nothing half-encoded may reach the thread with the rest of the group.
        flat.length = before;
        throw error;
      }
    },
    commit: (flat) => this.call(FLAT_INGEST, [flat]) as Promise<IngestOutcome[]>,
  });
  private stoppedAt = 0;

  constructor(private readonly options: SqliteStoreOptions) {
    this.description = sqliteDescription(options);
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = startThread(this.options);
    worker.on('message', (reply: StoreReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if (reply.error) waiter.reject(new StoreThreadError(reply.error));
      else waiter.resolve(reply.value);
    });
    worker.on('error', (error) => this.stopped(worker, error.message));
    worker.on('exit', (code) => this.stopped(worker, `exit code ${code}`));
    // The thread keeps the process alive only while calls wait for it.
    worker.unref();
    return worker;
  }

  /**
   * The thread stopped on its own (a crash, out of memory): the calls in flight fail as "store
   * unavailable" (their callers retry; nothing committed is lost, SQLite's transactions saw to
   * that) and the next call starts a new thread.
   */
  private stopped(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.stoppedAt = Date.now();
    const error = new StoreThreadError({
      name: 'StoreThreadError',
      message: this.closed ? 'The store is closed' : `The store thread stopped (${why})`,
      code: STORE_THREAD_EXITED,
      stack: undefined,
    });
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }

  private call(method: string, args: unknown[]): Promise<unknown> {
    // Calls run in the order they were made: publish batches made before this call go first.
    if (method !== FLAT_INGEST) this.ingests.flush();
    if (this.closed) return Promise.reject(new Error('The store is closed'));
    if (!this.worker) {
      if (Date.now() - this.stoppedAt < RESTART_INTERVAL_MS) {
        return Promise.reject(
          new StoreThreadError({
            name: 'StoreThreadError',
            message: 'The store thread is restarting',
            code: STORE_THREAD_EXITED,
            stack: undefined,
          }),
        );
      }
      try {
        this.worker = this.start();
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    const worker = this.worker;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Posted first: arguments that cannot be copied reject the call and leave nothing waiting.
      worker.postMessage({ id, method, args } satisfies StoreCall);
      if (this.waiting.size === 0) worker.ref();
      this.waiting.set(id, { resolve, reject });
    });
  }

  // Not async functions: an async function keeps its arguments alive until it resumes, and
  // these would keep every event of a publish (or every result) alive while the thread works.

  claimDeliveries(query: ClaimQuery): Promise<ClaimedDelivery[]> {
    return this.call(FLAT_CLAIM, [query]).then((flat) => decodeClaimed(flat as unknown[]));
  }

  ingest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.ingests.submit(batches);
  }

  recordResults(results: readonly DeliveryResult[]): Promise<void> {
    return this.call(FLAT_RESULTS, [encodeResults(results)]).then(() => undefined);
  }

  /**
   * The copy's pages come from another store on this thread, so the store thread runs the copy
   * in three steps: open the transaction with everything but the work, add the work page by page,
   * commit (or roll back on any failure).
   */
  async importCopy(copy: StoreCopy): Promise<void> {
    const { nextWork, ...rest } = copy;
    await this.call('beginCopy', [rest]);
    let committed = false;
    try {
      for (;;) {
        const items = await nextWork();
        if (items.length === 0) break;
        await this.call('importWork', [items]);
      }
      await this.call('endCopy', [true]);
      committed = true;
    } finally {
      if (!committed) await this.call('endCopy', [false]).catch(() => undefined);
    }
  }

  async subscribeWork(_listener: () => void): Promise<() => Promise<void>> {
    // One process uses the embedded store: in-process signals wake its worker.
    return async () => {};
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const worker = this.worker;
    try {
      // Queued behind every call already sent, so those finish first.
      if (worker) await this.call('close', []);
    } finally {
      this.closed = true;
      this.worker = null;
      if (worker) await worker.terminate();
      // Whatever was sent after `close` (a publish group sent when the one before it ended)
      // has no thread left to answer it.
      const closed = new Error('The store is closed');
      for (const waiter of this.waiting.values()) waiter.reject(closed);
      this.waiting.clear();
      this.ingests.abandon(closed);
    }
  }
}

for (const method of FORWARDED) {
  Object.defineProperty(ThreadedSqliteStore.prototype, method, {
    value(this: { call(method: string, args: unknown[]): Promise<unknown> }, ...args: unknown[]) {
      return this.call(method, args);
    },
    writable: true,
    configurable: true,
  });
}

// The forwarded methods, installed on the prototype above, typed as the port declares them.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface ThreadedSqliteStore extends Pick<Store, (typeof FORWARDED)[number]> {}
