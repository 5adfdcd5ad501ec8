// A port for a process that must be told its port before it starts (the CLI's OAuth redirect
// listener: the redirect URI is registered ahead). The system picks it (listen on port 0), so
// parallel test files and other programs on the machine never collide on a derived number.

import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A loopback port that was free a moment ago, chosen by the system. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts something that must be told its port before it listens, on `ports` in order or else on
 * a port free right now, and starts it again on the next when that port was taken in between
 * (`taken(error)` says the start failed for that): as many tries as `ports`, or three.
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  taken: (error: unknown) => boolean,
  ports?: readonly number[],
): Promise<T> {
  const tries = ports?.length ?? 3;
  for (let tried = 0; ; tried++) {
    const port = ports?.[tried] ?? (await freePort());
    try {
      return await start(port);
    } catch (error) {
      if (tried + 1 === tries || !taken(error)) throw error;
    }
  }
}
