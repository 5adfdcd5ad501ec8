// One delivery's request/response exchange: what it collects from the answer (the status, two
// headers and the start of the body), its one timer for the whole exchange, and how it settles,
// exactly once, into a SendResult. The connection pool (h1/pool.ts) moves it through its life:
// waiting for a connection, written, answered.

import type { SendResult } from './outbound.js';
import { classifyFailure } from './failures.js';
import type { ResponseHead, ResponseSink } from './h1/response-parser.js';
import { storableText } from '../domain/json-shape.js';

export interface ExchangeLimits {
  /** Bytes of the body kept for the attempt log. */
  readonly keepBytes: number;
  /** Bytes more read and discarded so the connection can be reused; beyond, it is closed. */
  readonly drainBytes: number;
}

/** The failure of a request its sender no longer wanted (AgentRequest.stillWanted). */
export class Withdrawn extends Error {
  override name = 'Withdrawn';
}

/**
 * Decodes `buffer` as UTF-8. When the body was cut, a multi-byte character split at the cut is
 * dropped rather than shown as U+FFFD. NUL characters become U+FFFD: PostgreSQL text cannot
 * hold them, and the attempt log must be writable whatever a listener answers.
 */
export function utf8Prefix(buffer: Buffer, truncated: boolean): string {
  let end = buffer.length;
  if (truncated && end > 0) {
    let lead = end - 1;
    while (lead > 0 && end - lead < 4 && (buffer[lead]! & 0xc0) === 0x80) lead--;
    const byte = buffer[lead]!;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    if (lead + length > end) end = lead;
  }
  return storableText(buffer.toString('utf8', 0, end));
}

/** What the pool does when an exchange gives up on its own (its timer). */
export interface ExchangeOwner {
  /** Stops waiting for a connection, or drops the one it is on; nothing more is read for it. */
  abandon(exchange: Exchange): void;
}

export class Exchange implements ResponseSink {
  private status = 0;
  private retryAfter: string | undefined;
  private wwwAuthenticate: string | undefined;
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private discarded = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly start = performance.now();
  settled = false;
  /** Set by the pool while the exchange waits for or uses a connection. */
  owner: ExchangeOwner | null = null;
  /** The listener's keep-alive hint from the answer's head, in ms. */
  keepAliveTimeoutMs: number | undefined;

  constructor(
    /** The request's bytes, head and body, ready to write. */
    readonly bytes: Buffer,
    private readonly limits: ExchangeLimits,
    private readonly timeoutMs: number,
    readonly stillWanted: (() => boolean) | undefined,
    private readonly resolve: (result: SendResult) => void,
  ) {
    this.timer = setTimeout(() => {
      this.owner?.abandon(this);
      this.settle({
        ok: false,
        failure: 'timeout',
        message: classifyFailure(null, true, timeoutMs).message,
        durationMs: this.elapsed(),
      });
    }, timeoutMs);
  }

  /** The answer's head has been read. */
  get answered(): boolean {
    return this.status !== 0;
  }

  head(head: ResponseHead): void {
    this.status = head.status;
    this.retryAfter = head.retryAfter;
    this.wwwAuthenticate = head.wwwAuthenticate;
    this.keepAliveTimeoutMs = head.keepAliveTimeoutMs;
  }

  data(chunk: Buffer): void {
    if (this.settled) return;
    const { keepBytes, drainBytes } = this.limits;
    if (this.kept < keepBytes) {
      const room = keepBytes - this.kept;
      const keep = chunk.length <= room ? chunk : chunk.subarray(0, room);
      // A copy: a plain TCP connection's read buffer is shared and reused (h1/sockets.ts).
      this.chunks.push(Buffer.from(keep));
      this.kept += keep.length;
      this.discarded += chunk.length - keep.length;
    } else {
      this.discarded += chunk.length;
    }
    // Cheaper to close the connection (the pool sees `settled`) than to download what nobody
    // reads.
    if (this.discarded > drainBytes) this.succeed();
  }

  /** The whole answer was read (or enough of it, when too long). */
  succeed(): void {
    const buffer =
      this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept);
    this.settle({
      ok: true,
      status: this.status,
      retryAfter: this.retryAfter,
      wwwAuthenticate: this.wwwAuthenticate,
      body: this.kept === 0 ? '' : utf8Prefix(buffer, this.discarded > 0),
      durationMs: this.elapsed(),
    });
  }

  fail(error: unknown): void {
    const { failure, message } =
      error instanceof Withdrawn
        ? { failure: 'withdrawn' as const, message: error.message }
        : classifyFailure(error, false, this.timeoutMs);
    this.settle({ ok: false, failure, message, durationMs: this.elapsed() });
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.start);
  }

  private settle(result: SendResult): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.owner = null;
    this.resolve(result);
  }
}
