// One request/response exchange on undici's dispatcher, without the stream and AbortSignal
// machinery of `request()`: a delivery needs only the status, three headers and the start of the
// body. This is the hot path of every delivery, so it is kept lean.

import type { Dispatcher } from 'undici';
import type { SendResult } from './outbound.js';
import { classifyFailure } from './failures.js';
import { storableText } from '../domain/json-shape.js';

export interface ExchangeRequest {
  readonly origin: string;
  readonly path: string;
  readonly method: 'POST';
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  /**
   * Asked when a connection is ready to write the request. False drops it unsent, with the
   * failure `withdrawn`: the caller's reason is its own (a delivery's bearer token was refused).
   */
  readonly stillWanted?: (() => boolean) | undefined;
}

export interface ExchangeLimits {
  /** Bytes of the body kept for the attempt log. */
  readonly keepBytes: number;
  /** Bytes more read and discarded so the connection can be reused; beyond, it is closed. */
  readonly drainBytes: number;
}

class TimeoutAbort extends Error {
  override name = 'TimeoutAbort';
}
class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}
class Withdrawn extends Error {
  override name = 'Withdrawn';
}

const LOWER_RETRY_AFTER = 'retry-after';
const LOWER_WWW_AUTHENTICATE = 'www-authenticate';

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

/** A dispatch handler (undici's core handler interface) collecting just what a delivery needs. */
class ExchangeHandler implements Dispatcher.DispatchHandler {
  private abortFn: ((reason?: Error) => void) | null = null;
  private status = 0;
  private retryAfter: string | undefined;
  private wwwAuthenticate: string | undefined;
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private discarded = 0;
  private settled = false;
  private aborted: Error | null = null;
  timedOut = false;

  constructor(
    private readonly limits: ExchangeLimits,
    private readonly start: number,
    private readonly timeoutMs: number,
    private readonly resolve: (result: SendResult) => void,
    private readonly timer: { handle: NodeJS.Timeout | undefined },
    private readonly stillWanted: (() => boolean) | undefined,
  ) {}

  abort(reason: Error): void {
    if (this.abortFn) {
      this.abortFn(reason);
      return;
    }
    // Still waiting for a connection: fail at once, and drop the request when undici gets to
    // it. Sent then, it would be a second delivery the attempt log never shows, with no timer.
    this.aborted = reason;
    this.onError(reason);
  }

  onConnect(abort: (reason?: Error) => void): void {
    // Thrown rather than passed to `abort`: undici then drops the request before writing it and
    // keeps the connection, where `abort` would close a healthy socket.
    if (this.aborted) throw this.aborted;
    if (this.stillWanted !== undefined && !this.stillWanted()) {
      throw new Withdrawn('not sent: withdrawn while it waited for a connection');
    }
    this.abortFn = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.status = statusCode;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      // Only two headers matter; compare lengths first to skip the rest cheaply.
      if (name.length === 11 && name.toString('latin1').toLowerCase() === LOWER_RETRY_AFTER) {
        this.retryAfter ??= rawHeaders[i + 1]!.toString('latin1');
      } else if (
        name.length === 16 &&
        name.toString('latin1').toLowerCase() === LOWER_WWW_AUTHENTICATE
      ) {
        const value = rawHeaders[i + 1]!.toString('latin1');
        this.wwwAuthenticate =
          this.wwwAuthenticate === undefined ? value : `${this.wwwAuthenticate}, ${value}`;
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    const { keepBytes, drainBytes } = this.limits;
    if (this.kept < keepBytes) {
      const room = keepBytes - this.kept;
      if (chunk.length <= room) {
        this.chunks.push(chunk);
        this.kept += chunk.length;
      } else {
        this.chunks.push(chunk.subarray(0, room));
        this.kept = keepBytes;
        this.discarded += chunk.length - room;
      }
    } else {
      this.discarded += chunk.length;
    }
    if (this.discarded > drainBytes) {
      // Cheaper to close this connection than to download what nobody reads.
      this.succeed(true);
      this.abortFn?.(new BodyTooLarge('response body too large'));
    }
    return true;
  }

  onComplete(): void {
    // undici hands a finished connection back to its pool one event-loop turn later (an
    // Immediate it queues right after this call); answering after that turn lets the next
    // delivery to this origin reuse the warm socket. The microtask queues ours behind it.
    queueMicrotask(() => setImmediate(() => this.succeed(this.discarded > 0)));
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer.handle);
    const { failure, message } =
      err instanceof Withdrawn
        ? { failure: 'withdrawn' as const, message: err.message }
        : classifyFailure(err, this.timedOut, this.timeoutMs);
    this.resolve({
      ok: false,
      failure,
      message,
      durationMs: Math.round(performance.now() - this.start),
    });
  }

  private succeed(truncated: boolean): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer.handle);
    const buffer =
      this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept);
    this.resolve({
      ok: true,
      status: this.status,
      retryAfter: this.retryAfter,
      wwwAuthenticate: this.wwwAuthenticate,
      body: this.kept === 0 ? '' : utf8Prefix(buffer, truncated),
      durationMs: Math.round(performance.now() - this.start),
    });
  }
}

/** Sends one request; never throws: network problems come back as `ok: false`. */
export function exchange(
  dispatcher: Dispatcher,
  request: ExchangeRequest,
  limits: ExchangeLimits,
): Promise<SendResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    const timer: { handle: NodeJS.Timeout | undefined } = { handle: undefined };
    const handler = new ExchangeHandler(
      limits,
      start,
      request.timeoutMs,
      resolve,
      timer,
      request.stillWanted,
    );
    // One timer for the whole exchange: undici's own timeouts are per phase.
    timer.handle = setTimeout(() => {
      handler.timedOut = true;
      handler.abort(new TimeoutAbort('timeout'));
    }, request.timeoutMs);
    try {
      dispatcher.dispatch(
        {
          origin: request.origin,
          path: request.path,
          method: request.method,
          headers: request.headers,
          body: request.body,
        },
        handler,
      );
    } catch (error) {
      handler.onError(error as Error);
    }
  });
}
