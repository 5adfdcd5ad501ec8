// The local end of the Web Server flow: a one-shot HTTP listener on
// http://localhost:<port>/OauthRedirect (Salesforce needs an exact, registered callback and
// rejects 127.0.0.1, so the port is fixed and the host is `localhost`, on IPv4 and IPv6).

import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const REDIRECT_PATH = '/OauthRedirect';

export interface RedirectListener {
  /** The port it listens on (the one asked for, or the one the system chose for 0). */
  readonly port: number;
  /** Resolves with the first redirect to REDIRECT_PATH; rejects after `timeoutMs`. */
  next(timeoutMs: number): Promise<URL>;
  close(): Promise<void>;
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body></html>`;

export async function listenForRedirect(port: number): Promise<RedirectListener> {
  let deliver: ((url: URL) => void) | null = null;
  const arrived: URL[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://localhost:${bound}`);
    if (req.method !== 'GET' || url.pathname !== REDIRECT_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not the OAuth redirect');
      return;
    }
    const denied = url.searchParams.has('error');
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(
        denied
          ? PAGE(
              'Herald: not connected',
              'The authorization was not granted. You can close this window; the terminal says what happened.',
            )
          : PAGE(
              'Herald: connected',
              'Herald received the authorization. You can close this window and return to the terminal.',
            ),
      );
    if (deliver) deliver(url);
    else arrived.push(url);
  };
  const servers: Server[] = [];
  let bound = port;
  const listen = (host: string) =>
    new Promise<void>((resolve, reject) => {
      const server = createServer(handler);
      server.once('error', reject);
      server.listen(bound, host, () => {
        servers.push(server);
        bound = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  try {
    await listen('127.0.0.1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'EADDRINUSE'
        ? `Port ${port} is in use; free it or pass --port (and register http://localhost:<port>${REDIRECT_PATH} in the app)`
        : `Cannot listen on localhost:${port}: ${(error as Error).message}`,
    );
  }
  await listen('::1').catch(() => undefined); // no IPv6 loopback here: IPv4 is enough
  return {
    port: bound,
    next(timeoutMs) {
      const waiting = arrived.shift();
      if (waiting) return Promise.resolve(waiting);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          deliver = null;
          reject(
            new Error(
              `Nobody completed the login within ${Math.round(timeoutMs / 1000)} s. Run the command again (or raise --timeout).`,
            ),
          );
        }, timeoutMs);
        deliver = (url) => {
          clearTimeout(timer);
          deliver = null;
          resolve(url);
        };
      });
    },
    async close() {
      await Promise.all(
        servers.map((s) => {
          s.closeAllConnections();
          return new Promise<void>((r) => s.close(() => r()));
        }),
      );
    },
  };
}

/** Opens a URL in the user's browser; best effort, never fails the command. */
export function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser: the URL is printed
  }
}
