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
const store = new SqliteStore(workerData as SqliteStoreOptions);
const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
methods[FLAT_CLAIM] = async (query) =>
  encodeClaimed(await store.claimDeliveries(query as ClaimQuery));
methods[FLAT_RESULTS] = (flat) => store.recordResults(decodeResults(flat as unknown[]));
methods[FLAT_INGEST] = (flat) => store.ingest(decodeIngest(flat as unknown[]));

port.on('message', (call: StoreCall) => {
  let answer: Promise<unknown>;
  try {
    answer = methods[call.method]!(...call.args);
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
