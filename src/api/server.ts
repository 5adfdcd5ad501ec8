// The HTTP server around the app: Node's own server, Hono's request listener, and error answers
// for requests that never reach the app (what HTTP cannot parse, a request line or Host header
// no URL can be built from), in the dialect of the path they asked for where it can be read.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import type { Hono } from 'hono';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { AppEnv } from './context.js';
import { clientErrorAnswer, dialectOf, errorAnswer } from './problem.js';

export interface ListeningServer {
  readonly server: Server;
  readonly port: number;
}

type SocketWithMessage = Duplex & {
  _httpMessage?: { headersSent?: boolean; req?: { url?: string } };
};

/**
 * The request target of a request the parser refused: from the request already under way (its
 * body too slow or broken), or from the request line in the bytes it failed on, when they hold it.
 */
function targetOf(
  error: NodeJS.ErrnoException & { rawPacket?: unknown },
  message: SocketWithMessage['_httpMessage'],
): string | undefined {
  if (message?.req?.url !== undefined) return message.req.url;
  if (!Buffer.isBuffer(error.rawPacket)) return undefined;
  const head = error.rawPacket.toString('latin1', 0, Math.min(error.rawPacket.length, 8192));
  return /^[A-Za-z]+ (\S+)/.exec(head)?.[1];
}

export function listen(
  app: Hono<AppEnv>,
  { port, host }: { port: number; host: string },
  logger: Logger,
): Promise<ListeningServer> {
  // The target of the request being handed to the listener, while it is: a Request that cannot
  // be built fails (and calls errorHandler) before the listener first waits.
  let handing: string | undefined;
  const listener = getRequestListener(app.fetch, {
    hostname: host,
    // Hono answers every error of its own (app.onError); what arrives here failed before a
    // Request existed.
    errorHandler: (error) => {
      const dialect = dialectOf(handing);
      if (error instanceof RequestError) {
        return errorAnswer(
          { code: 'invalid_request', detail: `The request cannot be read: ${error.message}` },
          dialect,
        );
      }
      logger.error({ err: error }, 'request failed outside the app');
      return errorAnswer(
        { code: 'internal_error', detail: 'Herald failed to answer this request' },
        dialect,
      );
    },
  });
  const server = createServer((incoming, outgoing) => {
    handing = incoming.url;
    try {
      void listener(incoming, outgoing);
    } finally {
      handing = undefined;
    }
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client gone (or half-gone) gets nothing, nor one whose answer has begun (as in Node's
    // own handler); one that sent what HTTP cannot parse gets an error document, like every
    // other error. Either way the connection ends.
    const message = (socket as SocketWithMessage)._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || message?.headersSent) socket.destroy();
    else socket.end(clientErrorAnswer(error, targetOf(error, message)), () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new ConfigError(
              `Port ${port} on ${host} is in use (EADDRINUSE); choose another with --port or HERALD_PORT`,
            )
          : error,
      ),
    );
    server.listen(port, host, () =>
      resolve({ server, port: (server.address() as AddressInfo).port }),
    );
  });
}
