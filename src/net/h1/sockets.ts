// How the delivery client opens a connection: TCP, or TLS with SNI for names, through the lookup
// the SSRF guard gives (outbound.ts). TLS sessions are remembered per origin, so a new connection
// to a listener already met resumes its session instead of a full handshake, as undici's
// connector did.

import type { LookupFunction, Socket } from 'node:net';
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Destination } from './agent.js';

export interface SocketOptions {
  /** The guard's lookups (none when it is lifted): plain HTTP is held to a stricter rule. */
  readonly httpLookup: LookupFunction | undefined;
  readonly httpsLookup: LookupFunction | undefined;
  /** Certificates trusted instead of Node's (tests' own authority). */
  readonly ca: string | undefined;
}

export type OpenSocket = (destination: Destination) => {
  socket: Socket;
  ready: 'connect' | 'secureConnect';
};

/** One read's room for plain TCP connections (TLS sockets read through their stream). */
const READ_BUFFER_BYTES = 64 * 1024;
/** TLS sessions kept, one per origin; the oldest is forgotten first. */
const MAX_SESSIONS = 256;

export function createSocketOpener(o: SocketOptions): OpenSocket {
  const sessions = new Map<string, Buffer>();
  // Plain TCP reads land in one buffer shared by every connection and are handed on as 'data'
  // at once, without the stream's per-read allocation and buffering: whoever reads them copies
  // what it keeps before the next read (the parser and the exchange do).
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return (d) => {
    if (!d.tls) {
      const socket: Socket = netConnect({
        host: d.hostname,
        port: d.port,
        noDelay: true,
        onread: {
          buffer: readBuffer,
          callback: (bytes: number) => {
            socket.emit('data', readBuffer.subarray(0, bytes));
            return true; // keep reading
          },
        },
        ...(o.httpLookup ? { lookup: o.httpLookup } : {}),
      });
      return { socket, ready: 'connect' };
    }
    const session = sessions.get(d.origin);
    const socket = tlsConnect({
      host: d.hostname,
      port: d.port,
      ALPNProtocols: ['http/1.1'],
      ...(isIP(d.hostname) === 0 ? { servername: d.hostname } : {}),
      ...(o.httpsLookup ? { lookup: o.httpsLookup } : {}),
      ...(o.ca === undefined ? {} : { ca: o.ca }),
      ...(session === undefined ? {} : { session }),
    });
    socket.setNoDelay(true);
    socket.on('session', (next: Buffer) => {
      sessions.delete(d.origin); // re-inserted as the newest
      if (sessions.size >= MAX_SESSIONS) {
        const oldest = sessions.keys().next();
        if (oldest.done !== true) sessions.delete(oldest.value);
      }
      sessions.set(d.origin, next);
    });
    // A session that failed to resume or verify is not offered again.
    socket.once('error', () => sessions.delete(d.origin));
    return { socket, ready: 'secureConnect' };
  };
}
