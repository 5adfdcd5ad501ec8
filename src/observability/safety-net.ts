// The process's last line: an error no caller handled (an 'error' event nobody listens to, a
// promise nobody awaits). Every store failure is meant to be handled where it happens (connections
// in store/postgres/connections.ts, calls by their callers), so one that lands here is a bug; it
// is logged and counted, and the process keeps serving, since a store outage must never end it.
// Anything else is truly unknown: the process may be in a state nobody planned for, so it is
// logged, stopped in order (bounded) and exits with code 1, for its supervisor to restart.

import { isStoreUnavailable } from '../domain/store-unavailable.js';
import type { Logger } from './logger.js';

export type SafetyNetVerdict = 'survive' | 'exit';

/** Whether an error that reached the process level ends the process. */
export function safetyNetVerdict(error: unknown): SafetyNetVerdict {
  return isStoreUnavailable(error) ? 'survive' : 'exit';
}

export interface SafetyNetOptions {
  readonly logger: Logger;
  /** Stops the server in order; bounded by the caller's shutdown timeout. */
  readonly stop: () => Promise<void>;
  readonly stopTimeoutMs: number;
  /** Ends the process (process.exit outside tests). */
  readonly exit: (code: number) => void;
}

/** What the process does with an error that reached it unhandled (`origin` says how). */
export function safetyNetHandler(o: SafetyNetOptions): (error: unknown, origin: string) => void {
  let exiting = false;
  return (error, origin) => {
    if (safetyNetVerdict(error) === 'survive') {
      o.logger.error(
        { err: error, origin },
        'safety net: a store failure was not handled where it happened; still serving',
      );
      return;
    }
    o.logger.fatal({ err: error, origin }, 'safety net: unexpected error; stopping');
    if (exiting) return;
    exiting = true;
    const timer = new Promise<void>((resolve) => setTimeout(resolve, o.stopTimeoutMs).unref());
    void Promise.race([o.stop().catch(() => undefined), timer]).finally(() => {
      o.logger.flush();
      o.exit(1);
    });
  };
}

/** Installs the handlers; returns a function that removes them. */
export function installSafetyNet(o: SafetyNetOptions): () => void {
  const caught = safetyNetHandler(o);
  const onException = (error: Error): void => caught(error, 'uncaughtException');
  const onRejection = (reason: unknown): void => caught(reason, 'unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
