// A tiny typed request/response protocol over Node's IPC channel, used between the runner and
// the processes it forks (listener, sandbox, load generator). Each child exposes an object of
// one-argument methods; the runner calls them by name and awaits the result.

import { wallNow } from './clock.js';

/** An object of methods that each take at most one (structured-cloneable) argument. */
export type Methods<T> = { [K in keyof T]: (arg: never) => unknown };
export type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;
export type ResultOf<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

export type ToChild = { kind: 'call'; id: number; method: string; arg: unknown };
export type ToParent =
  | { kind: 'ready'; value: unknown }
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string };

/** Method every child answers: its clock, for calibration. */
export const CLOCK_METHOD = '__clock';

/** The argument the runner passed to this child (JSON in argv[2]). */
export function childArgument<T>(): T {
  return JSON.parse(process.argv[2] ?? 'null') as T;
}

/**
 * Serves `impl` to the parent and announces `ready`. The child exits when the parent goes away,
 * so a crashed runner cannot leave a listener or load generator running.
 */
export function serveRpc<Api extends Methods<Api>>(impl: Api, ready: unknown): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this module must be started by the bench runner (fork with IPC)');
  process.on('disconnect', () => process.exit(0));
  process.on('message', (raw: ToChild) => {
    if (raw?.kind !== 'call') return;
    void (async () => {
      try {
        let value: unknown;
        if (raw.method === CLOCK_METHOD) value = wallNow();
        else {
          const method = (impl as Record<string, unknown>)[raw.method];
          if (typeof method !== 'function') throw new Error(`unknown method ${raw.method}`);
          value = await (method as (arg: unknown) => unknown).call(impl, raw.arg);
        }
        send({ kind: 'reply', id: raw.id, ok: true, value } satisfies ToParent);
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        send({ kind: 'reply', id: raw.id, ok: false, error: message } satisfies ToParent);
      }
    })();
  });
  send({ kind: 'ready', value: ready } satisfies ToParent);
}
