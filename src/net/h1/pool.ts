// Keep-alive HTTP/1.1 connections to one origin, one request at a time on each (no pipelining),
// up to a limit, with the exchanges that wait for one in order. A connection is opened only when
// an exchange waits and none is idle; a finished connection takes the next waiting exchange at
// once, in the same turn, so a busy origin's sockets never sit idle between deliveries.

import type { Socket } from 'node:net';
import type { Exchange, ExchangeOwner } from '../exchange.js';
import { Withdrawn } from '../exchange.js';
import { ResponseParser } from './response-parser.js';

const SHUT_DOWN = 'ERR_HERALD_SHUT_DOWN';

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** An error with a code failures.ts knows. */
export function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export interface PoolOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** Longest time a connection is kept idle (shorter when the listener's Keep-Alive says so). */
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  /** Opens a socket to the origin; `ready` is 'connect' (TCP) or 'secureConnect' (TLS). */
  readonly open: () => { socket: Socket; ready: 'connect' | 'secureConnect' };
  /** The origin has no connection and no exchange left: the agent may forget it. */
  readonly onEmpty: () => void;
}

/** A listener's keep-alive hint is cut by this much, so Herald never reuses a closing socket. */
const KEEP_ALIVE_MARGIN_MS = 2000;

function closedError(answered: boolean): Error {
  return answered
    ? codedError('ERR_HERALD_ANSWER_CUT', 'the listener closed the connection mid-answer')
    : codedError('ERR_HERALD_SOCKET_CLOSED', 'the listener closed the connection');
}

/** Asks the sender, right before writing, whether the request is still wanted; fails it if not. */
function wanted(exchange: Exchange): boolean {
  try {
    if (exchange.stillWanted === undefined || exchange.stillWanted()) return true;
    exchange.fail(new Withdrawn('not sent: withdrawn while it waited for a connection'));
  } catch (error) {
    exchange.fail(error); // asked from socket events: a throw must not escape to them
  }
  return false;
}

class Connection implements ExchangeOwner {
  readonly parser: ResponseParser;
  exchange: Exchange | null = null;
  /** When it was last handed back idle (performance.now()), and for how long it may stay so. */
  idleSince = 0;
  idleLimitMs = 0;
  ready = false;
  /** The listener ended its side or the socket is gone: never given another exchange. */
  ended = false;
  private error: unknown = null;

  constructor(
    readonly socket: Socket,
    private readonly pool: OriginPool,
    maxHeaderBytes: number,
  ) {
    this.parser = new ResponseParser(maxHeaderBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: unknown) => {
      this.error ??= error;
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('close', () => this.onClose());
  }

  write(exchange: Exchange): void {
    exchange.owner = this;
    this.exchange = exchange;
    this.parser.reset(exchange);
    this.socket.ref();
    this.socket.write(exchange.bytes);
  }

  /** Kept for reuse: an idle connection alone does not keep the process alive. */
  rest(limitMs: number): void {
    this.idleLimitMs = limitMs;
    this.idleSince = performance.now();
    this.socket.unref();
  }

  /** The exchange gave up (its timer): nothing more is read for it on this socket. */
  abandon(exchange: Exchange): void {
    if (this.exchange !== exchange) return;
    this.exchange = null;
    this.destroy();
  }

  /** `error`: why, for the exchange on it (none: it was idle, or its answer is complete). */
  destroy(error?: Error): void {
    this.ended = true;
    this.socket.destroy(error);
  }

  private onData(chunk: Buffer): void {
    const exchange = this.exchange;
    if (exchange === null) {
      this.destroy(); // nothing was asked: a listener talking out of turn is not reused
      return;
    }
    let leftover: Buffer | null;
    try {
      leftover = this.parser.feed(chunk);
    } catch (error) {
      this.exchange = null;
      this.destroy();
      exchange.fail(error);
      return;
    }
    if (exchange.settled) {
      // Given up while reading (the body was too long to drain): this socket is not reused.
      this.exchange = null;
      this.destroy();
      return;
    }
    if (!this.parser.done) return;
    this.exchange = null;
    const reusable = this.parser.reusable && leftover === null;
    exchange.succeed();
    if (reusable) this.pool.release(this, exchange.keepAliveTimeoutMs);
    else this.destroy();
  }

  private onClose(): void {
    this.ended = true;
    const exchange = this.exchange;
    this.exchange = null;
    if (exchange !== null) {
      // Closed by Herald's shutdown, a body that runs until close is cut, not complete.
      if (this.parser.closed() && codeOf(this.error) !== SHUT_DOWN) exchange.succeed();
      else exchange.fail(this.error ?? closedError(exchange.answered));
    }
    this.pool.closed(this, this.error);
  }
}

export class OriginPool implements ExchangeOwner {
  /** Idle connections, most recently used last (reused first: its socket is warmest). */
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  /** Open or opening. */
  private readonly connections = new Set<Connection>();
  private connecting = 0;

  constructor(private readonly o: PoolOptions) {}

  get empty(): boolean {
    return this.connections.size === 0 && this.waiting.length === 0;
  }

  dispatch(exchange: Exchange): void {
    const now = performance.now();
    while (this.idle.length > 0) {
      const connection = this.idle.pop()!;
      if (!connection.ended && now - connection.idleSince < connection.idleLimitMs) {
        if (wanted(exchange)) connection.write(exchange);
        else this.idle.push(connection);
        return;
      }
      connection.destroy();
    }
    exchange.owner = this;
    this.waiting.push(exchange);
    this.grow();
  }

  /** The exchange gave up while waiting for a connection. */
  abandon(exchange: Exchange): void {
    const at = this.waiting.indexOf(exchange);
    if (at >= 0) this.waiting.splice(at, 1);
    this.maybeEmpty();
  }

  /** A connection finished an exchange and may carry another. */
  release(connection: Connection, keepAliveHintMs: number | undefined): void {
    const next = this.nextWanted();
    if (next !== undefined) {
      connection.write(next);
      return;
    }
    const limitMs =
      keepAliveHintMs === undefined
        ? this.o.keepAliveTimeoutMs
        : Math.min(this.o.keepAliveTimeoutMs, keepAliveHintMs - KEEP_ALIVE_MARGIN_MS);
    if (limitMs <= 0) {
      connection.destroy();
      return;
    }
    connection.rest(limitMs);
    this.idle.push(connection);
  }

  /** A connection is gone; `error`: why, if it failed (told to a waiter if it never connected). */
  closed(connection: Connection, error: unknown): void {
    this.connections.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    if (!connection.ready) {
      this.connecting--;
      // The exchange waiting longest hears why, so a dead listener fails its deliveries one
      // connection attempt each rather than leaving them to time out.
      const first = this.waiting.shift();
      first?.fail(error ?? closedError(false));
    }
    this.grow();
    this.maybeEmpty();
  }

  /** Closes idle connections kept longer than they may be. */
  sweep(now: number): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const connection = this.idle[i]!;
      if (now - connection.idleSince >= connection.idleLimitMs) connection.destroy();
    }
  }

  close(error: Error): void {
    for (const exchange of this.waiting.splice(0)) exchange.fail(error);
    const cut = codedError(SHUT_DOWN, 'Herald shut down before the answer came');
    for (const connection of this.connections) connection.destroy(cut);
  }

  /** The next waiting exchange its sender still wants; the others fail as withdrawn. */
  private nextWanted(): Exchange | undefined {
    for (;;) {
      const next = this.waiting.shift();
      if (next === undefined || wanted(next)) return next;
    }
  }

  private grow(): void {
    while (this.waiting.length > this.connecting && this.connections.size < this.o.connections) {
      this.connect();
    }
  }

  private connect(): void {
    const { socket, ready } = this.o.open();
    this.connecting++;
    const connection = new Connection(socket, this, this.o.maxHeaderBytes);
    this.connections.add(connection);
    const timer = setTimeout(() => {
      socket.destroy(
        codedError('ERR_HERALD_CONNECT_TIMEOUT', 'connection not established in time'),
      );
    }, this.o.connectTimeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      connection.ready = true;
      this.connecting--;
      const next = this.nextWanted();
      if (next !== undefined) connection.write(next);
      else {
        connection.rest(this.o.keepAliveTimeoutMs);
        this.idle.push(connection);
      }
    });
    socket.once('close', () => clearTimeout(timer));
  }

  private maybeEmpty(): void {
    if (this.empty) this.o.onEmpty();
  }
}
