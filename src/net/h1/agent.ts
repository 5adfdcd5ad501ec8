// Herald's delivery client: HTTP/1.1 POSTs over keep-alive connections, a pool per origin. It
// does what a delivery needs and nothing more (no redirects, no retries, no pipelining, one
// write per request): sending is the busiest part of delivering, and undici's general-purpose
// request path cost about twice the CPU per request of a minimal one (docs/benchmarks.md). New connections are opened by the caller's `open`,
// which is where the SSRF guard resolves and checks the address (outbound.ts).

import { Exchange, type ExchangeLimits } from '../exchange.js';
import type { SendResult } from '../outbound.js';
import { codedError, OriginPool } from './pool.js';
import type { OpenSocket } from './sockets.js';

/** Where a request goes: parsed once per URL (targets.ts). */
export interface Destination {
  /** `https://host:port`: connections are pooled by it. */
  readonly origin: string;
  readonly tls: boolean;
  /** To connect to: a name, or an address without brackets. */
  readonly hostname: string;
  readonly port: number;
  /** The Host header: the URL's host, with its port when not the scheme's default. */
  readonly host: string;
  /** Path and query. */
  readonly path: string;
}

export interface AgentRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly stillWanted?: (() => boolean) | undefined;
}

export interface AgentOptions {
  readonly connectionsPerOrigin: number;
  readonly connectTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly limits: ExchangeLimits;
  readonly open: OpenSocket;
}

/** How often idle connections past their keep-alive time are closed. */
const SWEEP_MS = 1000;
/** A header name (RFC 9110 token) and a value without line breaks or control characters. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The request's bytes: head in Latin-1 (as header values are), body in UTF-8, one buffer. */
function encode(destination: Destination, request: AgentRequest): Buffer | string {
  let head = `POST ${destination.path} HTTP/1.1\r\nhost: ${destination.host}\r\n`;
  const headers = request.headers;
  for (const name in headers) {
    const value = headers[name]!;
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) {
      return `the request header ${HEADER_NAME.test(name) ? name : '(name)'} is not valid`;
    }
    head += `${name}: ${value}\r\n`;
  }
  const bodyBytes = Buffer.byteLength(request.body);
  head += `content-length: ${bodyBytes}\r\n\r\n`;
  const bytes = Buffer.allocUnsafe(head.length + bodyBytes);
  bytes.write(head, 0, 'latin1');
  bytes.write(request.body, head.length, 'utf8');
  return bytes;
}

export class DeliveryAgent {
  private readonly pools = new Map<string, OriginPool>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly o: AgentOptions) {
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const pool of this.pools.values()) pool.sweep(now);
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  /** Never throws: every problem comes back as `ok: false`. */
  send(destination: Destination, request: AgentRequest): Promise<SendResult> {
    return new Promise((resolve) => {
      const bytes = encode(destination, request);
      if (typeof bytes === 'string') {
        resolve({ ok: false, failure: 'connect_error', message: bytes, durationMs: 0 });
        return;
      }
      const exchange = new Exchange(
        bytes,
        this.o.limits,
        request.timeoutMs,
        request.stillWanted,
        resolve,
      );
      if (this.closed) {
        exchange.fail(codedError('ERR_HERALD_CLOSED', 'Herald is shutting down'));
        return;
      }
      this.pool(destination).dispatch(exchange);
    });
  }

  /** Fails what waits, closes every connection; later sends fail at once. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    const error = codedError('ERR_HERALD_CLOSED', 'Herald is shutting down');
    for (const pool of this.pools.values()) pool.close(error);
    this.pools.clear();
  }

  private pool(destination: Destination): OriginPool {
    let pool = this.pools.get(destination.origin);
    if (pool === undefined) {
      const created: OriginPool = new OriginPool({
        connections: this.o.connectionsPerOrigin,
        connectTimeoutMs: this.o.connectTimeoutMs,
        keepAliveTimeoutMs: this.o.keepAliveTimeoutMs,
        maxHeaderBytes: this.o.maxHeaderBytes,
        open: () => this.o.open(destination),
        onEmpty: () => {
          if (this.pools.get(destination.origin) === created) {
            this.pools.delete(destination.origin);
          }
        },
      });
      pool = created;
      this.pools.set(destination.origin, pool);
    }
    return pool;
  }
}
