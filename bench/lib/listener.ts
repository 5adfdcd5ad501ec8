// Starts the listener process (listener-process.ts) and gives the runner a handle to it.

import { Child } from './child.js';
import type { ListenerApi, ListenerReady } from './listener-protocol.js';

export interface Listener {
  readonly url: string;
  readonly child: Child<ListenerApi>;
}

export async function startListener(): Promise<Listener> {
  const { child, ready } = await Child.start<ListenerApi, ListenerReady>(
    'listener',
    new URL('./listener-process.js', import.meta.url),
    null,
  );
  return { url: `http://127.0.0.1:${ready.port}`, child };
}
