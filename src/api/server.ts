// The HTTP server around the app: Node's own server, Hono's request listener, and answers in
// the problem format for requests that never reach the app (what HTTP cannot parse, a request
// line or Host header no URL can be built from, no Host header at all).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import type { Hono } from 'hono';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { AppEnv } from './context.js';
import { clientErrorAnswer, problem, problemBody } from './problem.js';

export interface ListeningServer {
  readonly server: Server;
  readonly port: number;
}

export function listen(
  app: Hono<AppEnv>,
  { port, host }: { port: number; host: string },
  logger: Logger,
): Promise<ListeningServer> {
  const listener = getRequestListener(app.fetch, {
    hostname: host,
    // Hono answers every error of its own (app.onError); what arrives here failed before a
    // Request existed.
    errorHandler: (error) => {
      if (error instanceof RequestError) {
        return problem('invalid_request', `The request cannot be read: ${error.message}`);
      }
      logger.error({ err: error }, 'request failed outside the app');
      return problem('internal_error', 'Herald failed to answer this request');
    },
  });
  // Node answers an HTTP/1.1 request without a Host header with a bare 400 of its own, before
  // any handler runs; it is let through here and answered with a problem document instead.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    if (req.headers.host !== undefined || req.httpVersion === '1.0') {
      void listener(req, res);
      return;
    }
    const body = problemBody('invalid_request', 'An HTTP/1.1 request needs a Host header');
    res.writeHead(400, {
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A client gone (or half-gone) gets nothing, nor one whose answer has begun (as in Node's
    // own handler); one that sent what HTTP cannot parse gets a problem document, like every
    // other error. Either way the connection ends.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
      ?.headersSent;
    if (error.code === 'ECONNRESET' || !socket.writable || answering) socket.destroy();
    else socket.end(clientErrorAnswer(error), () => socket.destroy());
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
