// The embedded store's thread (see threaded-store.ts): owns the SqliteStore and runs the calls
// the main thread forwards, one after another, in the order they were sent. Publish batches that
// queue up while the thread is busy are committed together (one transaction, one fsync).

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { ClaimQuery, IngestBatch } from '../port.js';
import {
  decodeIngest,
  decodeResults,
  encodeClaimed,
  FLAT_CLAIM,
  FLAT_INGEST,
  FLAT_RESULTS,
} from './thread-codec.js';
import type { StoreCall, StoreReply, ThreadErrorReport } from './threaded-store.js';

const port = parentPort!;
// A database that cannot be opened is every call's answer (with SQLite's message and code),
// as it would be on the main thread, rather than a thread that dies and is restarted in a loop.
let store: SqliteStore | undefined;
let openError: unknown;
try {
  store = new SqliteStore(workerData as SqliteStoreOptions);
} catch (error) {
  openError = error;
}
type Method = (...args: unknown[]) => Promise<unknown>;
/**
 * The calls that cross as flat arrays (thread-codec.ts; publish batches are decoded by
 * ingestGroup); every other name is the store's own.
 */
const flat: Record<string, (store: SqliteStore, arg: unknown) => Promise<unknown>> = {
  [FLAT_CLAIM]: async (store, query) =>
    encodeClaimed(await store.claimDeliveries(query as ClaimQuery)),
  [FLAT_RESULTS]: (store, rows) => store.recordResults(decodeResults(rows as unknown[])),
};

function run(call: StoreCall): Promise<unknown> {
  if (!store) {
    return call.method === 'close' ? Promise.resolve() : Promise.reject(openError);
  }
  const decoded = flat[call.method];
  if (decoded) return decoded(store, call.args[0]);
  const method = (store as unknown as Record<string, Method | undefined>)[call.method];
  if (!method) throw new Error(`The store has no method ${call.method}`);
  return method.apply(store, call.args);
}

/** Publish calls committed in one transaction, at most; the publish budget keeps it lower. */
const MAX_INGEST_GROUP = 64;

function handle(call: StoreCall): void {
  if (call.method === FLAT_INGEST && store) {
    ingestGroup(store, call);
    return;
  }
  let answer: Promise<unknown>;
  try {
    answer = run(call);
  } catch (error) {
    answer = Promise.reject(error);
  }
  answer.then(
    (value) => port.postMessage({ id: call.id, value } satisfies StoreReply),
    (error: unknown) => replyError(call, error),
  );
}

/**
 * Commits `first` with the publish calls queued right behind it. A call of another kind ends
 * the group and runs after it, so every call still runs in the order it was sent.
 */
function ingestGroup(store: SqliteStore, first: StoreCall): void {
  const group = [first];
  let next: StoreCall | undefined;
  while (group.length < MAX_INGEST_GROUP) {
    const queued = receiveMessageOnPort(port)?.message as StoreCall | undefined;
    if (!queued) break;
    if (queued.method !== FLAT_INGEST) {
      next = queued;
      break;
    }
    group.push(queued);
  }
  const sizes: number[] = [];
  let answer: Promise<unknown[]>;
  try {
    const batches: IngestBatch[] = [];
    for (const call of group) {
      const decoded = decodeIngest(call.args[0] as unknown[]);
      sizes.push(decoded.length);
      batches.push(...decoded);
    }
    answer = store.ingest(batches);
  } catch (error) {
    answer = Promise.reject(error);
  }
  answer.then(
    (outcomes) => {
      let at = 0;
      group.forEach((call, i) => {
        const value = outcomes.slice(at, at + sizes[i]!);
        at += sizes[i]!;
        port.postMessage({ id: call.id, value } satisfies StoreReply);
      });
    },
    (error: unknown) => {
      for (const call of group) replyError(call, error);
    },
  );
  if (next) handle(next);
}

function replyError(call: StoreCall, error: unknown): void {
  port.postMessage({ id: call.id, error: report(error) } satisfies StoreReply);
}

port.on('message', handle);

/** Errors cross the thread as plain data; the code (SQLITE_BUSY, ...) is what callers read. */
function report(error: unknown): ThreadErrorReport {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: String(error), code: undefined, stack: undefined };
  }
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    code: typeof code === 'string' ? code : undefined,
    stack: error.stack,
  };
}
