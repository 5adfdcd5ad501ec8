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
