// The embedded store's thread (see threaded-store.ts): owns the SqliteStore and runs the calls
// the main thread forwards, one after another, in the order they were sent.

import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { ClaimQuery } from '../port.js';
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
const methods: Record<string, (...args: unknown[]) => Promise<unknown>> = store
  ? {
      ...bound(store),
      [FLAT_CLAIM]: async (query) =>
        encodeClaimed(await store!.claimDeliveries(query as ClaimQuery)),
      [FLAT_RESULTS]: (flat) => store!.recordResults(decodeResults(flat as unknown[])),
      [FLAT_INGEST]: (flat) => store!.ingest(decodeIngest(flat as unknown[])),
    }
  : { close: async () => {} };

port.on('message', (call: StoreCall) => {
  let answer: Promise<unknown>;
  try {
    const method = methods[call.method];
    if (!method) throw openError ?? new Error(`The store has no method ${call.method}`);
    answer = method(...call.args);
  } catch (error) {
    answer = Promise.reject(error);
  }
  answer.then(
    (value) => port.postMessage({ id: call.id, value } satisfies StoreReply),
    (error: unknown) =>
      port.postMessage({ id: call.id, error: report(error) } satisfies StoreReply),
  );
});

/** The store's methods, bound to it, by name. */
function bound(target: SqliteStore): Record<string, (...args: unknown[]) => Promise<unknown>> {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(target))) {
    const value = (target as unknown as Record<string, unknown>)[name];
    if (name !== 'constructor' && typeof value === 'function') {
      out[name] = (value as (...args: unknown[]) => Promise<unknown>).bind(target);
    }
  }
  return out;
}

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
