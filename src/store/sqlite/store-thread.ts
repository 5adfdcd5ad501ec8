// The embedded store's thread (see threaded-store.ts): owns the SqliteStore and runs the calls
// the main thread forwards, one after another, in the order they were sent.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { ClaimQuery } from '../port.js';
import {
  decodeIngest,
  decodeResults,
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
/** The calls that cross as flat arrays (thread-codec.ts); every other name is the store's own. */
const flat: Record<string, (store: SqliteStore, arg: unknown) => Promise<unknown>> = {
  [FLAT_CLAIM]: async (store, query) => store.claimFlat(query as ClaimQuery),
  [FLAT_RESULTS]: (store, rows) => store.recordResults(decodeResults(rows as unknown[])),
  // Grouped already by the main side: committed as it comes.
  [FLAT_INGEST]: async (store, batches) => store.commitIngest(decodeIngest(batches as unknown[])),
};

/** Set by `close`: a call sent after it (a publish group made while closing) is refused as closed. */
let closed = false;

function run(call: StoreCall): Promise<unknown> {
  if (closed) return Promise.reject(new Error('The store is closed'));
  if (call.method === 'close') closed = true;
  if (!store) {
    return call.method === 'close' ? Promise.resolve() : Promise.reject(openError);
  }
  const decoded = flat[call.method];
  if (decoded) return decoded(store, call.args[0]);
  const method = (store as unknown as Record<string, Method | undefined>)[call.method];
  if (!method) throw new Error(`The store has no method ${call.method}`);
  return method.apply(store, call.args);
}

port.on('message', (call: StoreCall) => {
  let answer: Promise<unknown>;
  try {
    answer = run(call);
  } catch (error) {
    answer = Promise.reject(error);
  }
  answer.then(
    (value) => port.postMessage({ id: call.id, value } satisfies StoreReply),
    (error: unknown) =>
      port.postMessage({ id: call.id, error: report(error) } satisfies StoreReply),
  );
});

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
