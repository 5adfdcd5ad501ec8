// An incremental parser for the one kind of message Herald reads on a delivery connection: an
// HTTP/1.1 response to a POST. It keeps only what a delivery needs (the status, Retry-After,
// WWW-Authenticate and whether the connection may be reused) and hands the body on as it comes,
// whatever its framing: Content-Length, chunked, or until the listener closes. Interim 1xx
// responses are skipped. Anything it cannot read as HTTP/1.x is an error with a code of the
// HPE_ family, which failures.ts turns into a message for the attempt log.

/** What a response's head says. */
export interface ResponseHead {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly wwwAuthenticate: string | undefined;
  /** The listener's `Keep-Alive: timeout=N`, in ms, when it gave one. */
  readonly keepAliveTimeoutMs: number | undefined;
}

export interface ResponseSink {
  head(head: ResponseHead): void;
  /** A part of the body (a view of the connection's buffer: copy what must be kept). */
  data(chunk: Buffer): void;
}

/** A response that is not HTTP/1.x as Herald reads it. */
export class ResponseParseError extends Error {
  override name = 'ResponseParseError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const LF_LF = Buffer.from('\n\n');
/** Longest chunk-size line (with extensions) or trailer line accepted. */
const MAX_LINE = 4096;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;[^\r\n]*)?$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d{1,9})/i;

const HTTP_PREFIX = Buffer.from('HTTP/1.');

const CR = 13;
const LF = 10;
const SPACE = 32;
const COLON = 58;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/** The bytes of header names (tchar, RFC 9110). */
const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN_BYTE[c.charCodeAt(0)] = 1;
for (let b = 0; b < 256; b++) {
  if ((b >= DIGIT_0 && b <= DIGIT_9) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)) {
    TOKEN_BYTE[b] = 1;
  }
}

/** The bytes String.prototype.trim removes from Latin-1 text (a line holds no CR or LF). */
function trimmed(b: number): boolean {
  return b === SPACE || b === 9 || b === 11 || b === 12 || b === 0xa0;
}

/** The headers a delivery reads, by their lower-case names. */
const enum Header {
  Other,
  ContentLength,
  TransferEncoding,
  Connection,
  KeepAlive,
  RetryAfter,
  WwwAuthenticate,
}

/** `keep-alive` names a header and is the usual value of `Connection`. */
const KEEP_ALIVE = Buffer.from('keep-alive');
const CLOSE = Buffer.from('close');
const TIMEOUT_IS = Buffer.from('timeout=');

const HEADERS: ReadonlyArray<readonly [Buffer, Header]> = [
  [Buffer.from('content-length'), Header.ContentLength],
  [Buffer.from('transfer-encoding'), Header.TransferEncoding],
  [Buffer.from('connection'), Header.Connection],
  [KEEP_ALIVE, Header.KeepAlive],
  [Buffer.from('retry-after'), Header.RetryAfter],
  [Buffer.from('www-authenticate'), Header.WwwAuthenticate],
];

/** Whether `chunk[start, end)` is `lower` (lower-case ASCII), ignoring the case of letters. */
function bytesAre(chunk: Buffer, start: number, end: number, lower: Buffer): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const b = chunk[start + i]!;
    const l = lower[i]!;
    if (b !== l && (l < 97 || l > 122 || b !== l - 32)) return false;
  }
  return true;
}

/**
 * The seconds of a Keep-Alive value that starts `timeout=N` (N: what \d{1,9} takes), or -1 for
 * any other value (read by KEEP_ALIVE_TIMEOUT instead).
 */
function leadingTimeout(chunk: Buffer, start: number, end: number): number {
  const digits = start + TIMEOUT_IS.length;
  if (digits > end || !bytesAre(chunk, start, digits, TIMEOUT_IS)) return -1;
  let seconds = 0;
  let at = digits;
  for (; at < end && at - digits < 9; at++) {
    const b = chunk[at]!;
    if (b < DIGIT_0 || b > DIGIT_9) break;
    seconds = seconds * 10 + (b - DIGIT_0);
  }
  return at === digits ? -1 : seconds;
}

/** Which of the headers a delivery reads `chunk[start, end)` names, ignoring case. */
function headerOf(chunk: Buffer, start: number, end: number): Header {
  for (const [name, header] of HEADERS) if (bytesAre(chunk, start, end, name)) return header;
  return Header.Other;
}

/** Whether the bytes from `at` could still be the start of `HTTP/1.`: a stranger fails early. */
function startsLikeHttp(chunk: Buffer, at: number): boolean {
  return prefixIs(chunk, at, HTTP_PREFIX, Math.min(HTTP_PREFIX.length, chunk.length - at));
}

function fail(code: string, message: string): never {
  throw new ResponseParseError(code, message);
}

/**
 * The status code of the status line `chunk[start, end)`: `HTTP/1.0` or `HTTP/1.1`, a space, three
 * digits, then nothing or a space and a reason. Anything else is not a response Herald reads.
 */
function statusOf(chunk: Buffer, start: number, end: number): number {
  const length = end - start;
  const valid =
    length >= 12 &&
    prefixIs(chunk, start, HTTP_PREFIX) &&
    (chunk[start + 7] === DIGIT_0 || chunk[start + 7] === DIGIT_0 + 1) &&
    chunk[start + 8] === SPACE &&
    (length === 12 || chunk[start + 12] === SPACE);
  const code = valid ? digitsOf(chunk, start + 9, start + 12) : -1;
  if (code < 0) fail('HPE_INVALID_CONSTANT', 'the response does not start with HTTP/1.x');
  return code;
}

/** Whether `chunk` holds the first `length` bytes of `prefix` at `start`, byte for byte. */
function prefixIs(chunk: Buffer, start: number, prefix: Buffer, length = prefix.length): boolean {
  for (let i = 0; i < length; i++) if (chunk[start + i] !== prefix[i]) return false;
  return true;
}

/** The number `chunk[start, end)` spells in 1 to 15 decimal digits, or -1. */
function digitsOf(chunk: Buffer, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const b = chunk[i]!;
    if (b < DIGIT_0 || b > DIGIT_9) return -1;
    value = value * 10 + (b - DIGIT_0);
  }
  return value;
}

/** One response at a time; `reset` readies it for the next request on the same connection. */
export class ResponseParser {
  private state = State.Head;
  private pending: Buffer | null = null;
  private remaining = 0;
  private keepConnection = true;
  private sink: ResponseSink | null = null;

  constructor(private readonly maxHeaderBytes: number) {}

  /** Starts reading the response to the request just written. */
  reset(sink: ResponseSink): void {
    this.state = State.Head;
    this.pending = null;
    this.remaining = 0;
    this.keepConnection = true;
    this.sink = sink;
  }

  /** The response is complete (the caller finishes it after `feed` returns). */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** Whether the connection may carry another request after this complete response. */
  get reusable(): boolean {
    return this.keepConnection;
  }

  /**
   * Reads bytes from the connection. Returns the bytes after the end of the response (a listener
   * that sent more than one answer), or null. Throws ResponseParseError. Stops at the end of the
   * response, so the caller sees `done` before anything else reads this connection.
   */
  feed(input: Buffer): Buffer | null {
    const chunk = this.pending === null ? input : Buffer.concat([this.pending, input]);
    this.pending = null;
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case State.Head: {
          const end = chunk.indexOf(CRLF_CRLF, at);
          if (end < 0) {
            // Up to three bytes of the blank line may already be here.
            if (chunk.length - at > this.maxHeaderBytes + 3) {
              fail('HPE_HEADER_OVERFLOW', 'the response headers are too large');
            }
            if (!startsLikeHttp(chunk, at)) {
              fail('HPE_INVALID_CONSTANT', 'the response does not start with HTTP/1.x');
            }
            if (chunk.indexOf(LF_LF, at) >= 0) {
              // Lines ended by LF alone: the blank line Herald waits for would never come.
              fail('HPE_LF_EXPECTED', 'the response lines do not end with CRLF');
            }
            this.pending = Buffer.from(chunk.subarray(at)); // a copy: `input` may be reused
            return null;
          }
          if (end - at > this.maxHeaderBytes) {
            fail('HPE_HEADER_OVERFLOW', 'the response headers are too large');
          }
          const start = at;
          at = end + 4;
          this.head(chunk, start, end);
          break;
        }
        case State.Body:
          at = this.body(chunk, at);
          if (this.remaining === 0) this.finishMessage();
          break;
        case State.ChunkSize:
        case State.Trailers:
        case State.ChunkEnd: {
          const end = chunk.indexOf(CRLF, at);
          if (end < 0) {
            if (chunk.length - at > MAX_LINE)
              fail('HPE_INVALID_CHUNK_SIZE', 'a chunk line is too long');
            this.pending = Buffer.from(chunk.subarray(at)); // a copy: `input` may be reused
            return null;
          }
          this.line(chunk.toString('latin1', at, end));
          at = end + 2;
          break;
        }
        case State.ChunkData:
          at = this.body(chunk, at);
          if (this.remaining === 0) this.state = State.ChunkEnd;
          break;
        case State.UntilClose:
          this.sink!.data(at === 0 ? chunk : chunk.subarray(at));
          return null;
        case State.Done:
          return chunk.subarray(at);
      }
    }
    return null;
  }

  /**
   * The listener closed the connection. Ends a body that runs until close (true); anything else
   * unfinished is for the caller to report as a broken response.
   */
  closed(): boolean {
    if (this.state === State.UntilClose) this.state = State.Done;
    return this.state === State.Done;
  }

  /** Hands on up to `remaining` body bytes from `at`; returns where it stopped. */
  private body(chunk: Buffer, at: number): number {
    const take = Math.min(this.remaining, chunk.length - at);
    this.remaining -= take;
    this.sink!.data(chunk.subarray(at, at + take));
    return at + take;
  }

  /** Line starts and ends of the head being read (reused: no array per response). */
  private readonly lines: number[] = [];

  /** Reads the head in `chunk[start, end)`: its lines, without the blank line that ends it. */
  private head(chunk: Buffer, start: number, end: number): void {
    // Lines first: a CR without its LF, or an LF without its CR, is refused before anything else.
    const lines = this.lines;
    lines.length = 0;
    let lineStart = start;
    for (let i = start; i < end; i++) {
      const b = chunk[i]!;
      if (b === CR) {
        if (i + 1 >= end || chunk[i + 1] !== LF) {
          fail('HPE_LF_EXPECTED', 'the response lines do not end with CRLF');
        }
        lines.push(lineStart, i);
        lineStart = ++i + 1;
      } else if (b === LF) {
        fail('HPE_LF_EXPECTED', 'the response lines do not end with CRLF');
      }
    }
    lines.push(lineStart, end);
    const code = statusOf(chunk, lines[0]!, lines[1]!);
    if (code < 100) fail('HPE_INVALID_STATUS', 'the response status is not valid');
    const http10 = chunk[lines[0]! + 7] === DIGIT_0;
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connectionClose = false;
    let connectionKeepAlive = false;
    let retryAfter: string | undefined;
    let wwwAuthenticate: string | undefined;
    let keepAliveTimeoutMs: number | undefined;
    for (let l = 2; l < lines.length; l += 2) {
      const from = lines[l]!;
      const to = lines[l + 1]!;
      let colon = from;
      while (colon < to && chunk[colon] !== COLON) {
        // Also refuses obsolete line folding (a line starting with whitespace).
        if (TOKEN_BYTE[chunk[colon]!] === 0) colon = to;
        else colon++;
      }
      if (colon === from || colon >= to) {
        fail('HPE_INVALID_HEADER_TOKEN', 'a response header line is not valid');
      }
      const header = headerOf(chunk, from, colon);
      if (header === Header.Other) continue;
      let valueStart = colon + 1;
      let valueEnd = to;
      while (valueStart < valueEnd && trimmed(chunk[valueStart]!)) valueStart++;
      while (valueEnd > valueStart && trimmed(chunk[valueEnd - 1]!)) valueEnd--;
      switch (header) {
        case Header.ContentLength: {
          const length = digitsOf(chunk, valueStart, valueEnd);
          if (length < 0) {
            fail('HPE_INVALID_CONTENT_LENGTH', 'the response Content-Length is not valid');
          }
          if (contentLength >= 0 && contentLength !== length) {
            fail('HPE_INVALID_CONTENT_LENGTH', 'the response has conflicting Content-Lengths');
          }
          contentLength = length;
          break;
        }
        case Header.TransferEncoding:
          transferEncoding = true;
          // Chunked counts only as the last coding applied.
          chunked = /(?:^|,)\s*chunked\s*$/i.test(chunk.toString('latin1', valueStart, valueEnd));
          break;
        case Header.Connection:
          // Node's and most servers' one option, read without making text of it.
          if (bytesAre(chunk, valueStart, valueEnd, KEEP_ALIVE)) connectionKeepAlive = true;
          else if (bytesAre(chunk, valueStart, valueEnd, CLOSE)) connectionClose = true;
          else {
            const options = chunk.toString('latin1', valueStart, valueEnd).toLowerCase();
            for (const option of options.split(',')) {
              const token = option.trim();
              if (token === 'close') connectionClose = true;
              else if (token === 'keep-alive') connectionKeepAlive = true;
            }
          }
          break;
        case Header.KeepAlive: {
          const seconds = leadingTimeout(chunk, valueStart, valueEnd);
          if (seconds >= 0) keepAliveTimeoutMs = seconds * 1000;
          else {
            const timeout = KEEP_ALIVE_TIMEOUT.exec(chunk.toString('latin1', valueStart, valueEnd));
            if (timeout !== null) keepAliveTimeoutMs = Number(timeout[1]) * 1000;
          }
          break;
        }
        case Header.RetryAfter:
          retryAfter ??= chunk.toString('latin1', valueStart, valueEnd);
          break;
        case Header.WwwAuthenticate: {
          const value = chunk.toString('latin1', valueStart, valueEnd);
          wwwAuthenticate = wwwAuthenticate === undefined ? value : `${wwwAuthenticate}, ${value}`;
          break;
        }
      }
    }
    if (code < 200) {
      // 100 Continue, 103 Early Hints: the real answer follows. 101 was never asked for.
      if (code === 101) fail('HPE_INVALID_CONSTANT', 'the listener switched protocols');
      return;
    }
    if (transferEncoding && contentLength >= 0) {
      // A message with both is how requests are smuggled; never reuse such a connection.
      fail('HPE_UNEXPECTED_CONTENT_LENGTH', 'the response has both Content-Length and chunking');
    }
    this.keepConnection = !connectionClose && (!http10 || connectionKeepAlive);
    this.sink!.head({ status: code, retryAfter, wwwAuthenticate, keepAliveTimeoutMs });
    if (code === 204 || code === 304) this.finishMessage();
    else if (chunked) this.state = State.ChunkSize;
    else if (transferEncoding || contentLength < 0) {
      this.keepConnection = false;
      this.state = State.UntilClose;
    } else if (contentLength === 0) this.finishMessage();
    else {
      this.remaining = contentLength;
      this.state = State.Body;
    }
  }

  private line(text: string): void {
    if (this.state === State.ChunkEnd) {
      if (text !== '') fail('HPE_INVALID_CHUNK_SIZE', 'a chunk is longer than its size');
      this.state = State.ChunkSize;
    } else if (this.state === State.ChunkSize) {
      const size = CHUNK_SIZE.exec(text);
      if (size === null) fail('HPE_INVALID_CHUNK_SIZE', 'a chunk size is not valid');
      this.remaining = parseInt(size[1]!, 16);
      this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
    } else if (text === '') {
      this.finishMessage(); // the empty line after the trailers (usually none)
    }
  }

  private finishMessage(): void {
    this.state = State.Done;
  }
}
