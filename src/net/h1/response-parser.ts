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
/** A CR not followed by LF, or an LF not preceded by CR. */
const BARE_CR_OR_LF = /\r(?!\n)|(?<!\r)\n/;
/** Longest chunk-size line (with extensions) or trailer line accepted. */
const MAX_LINE = 4096;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;[^\r\n]*)?$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d{1,9})/i;

const HTTP_PREFIX = Buffer.from('HTTP/1.');

/** Whether the bytes from `at` could still be the start of `HTTP/1.`: a stranger fails early. */
function startsLikeHttp(chunk: Buffer, at: number): boolean {
  const length = Math.min(HTTP_PREFIX.length, chunk.length - at);
  return chunk.compare(HTTP_PREFIX, 0, length, at, at + length) === 0;
}

function fail(code: string, message: string): never {
  throw new ResponseParseError(code, message);
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
          const head = chunk.toString('latin1', at, end);
          at = end + 4;
          this.head(head);
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

  private head(text: string): void {
    if (BARE_CR_OR_LF.test(text))
      fail('HPE_LF_EXPECTED', 'the response lines do not end with CRLF');
    const lines = text.split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (status === null) fail('HPE_INVALID_CONSTANT', 'the response does not start with HTTP/1.x');
    const code = Number(status[2]);
    if (code < 100) fail('HPE_INVALID_STATUS', 'the response status is not valid');
    const http10 = status[1] === '0';
    let contentLength = -1;
    let chunked = false;
    let transferEncoding = false;
    let connectionClose = false;
    let connectionKeepAlive = false;
    let retryAfter: string | undefined;
    let wwwAuthenticate: string | undefined;
    let keepAliveTimeoutMs: number | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
        // Also refuses obsolete line folding (a line starting with whitespace).
        fail('HPE_INVALID_HEADER_TOKEN', 'a response header line is not valid');
      }
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      switch (name) {
        case 'content-length': {
          if (!/^\d{1,15}$/.test(value)) {
            fail('HPE_INVALID_CONTENT_LENGTH', 'the response Content-Length is not valid');
          }
          const length = Number(value);
          if (contentLength >= 0 && contentLength !== length) {
            fail('HPE_INVALID_CONTENT_LENGTH', 'the response has conflicting Content-Lengths');
          }
          contentLength = length;
          break;
        }
        case 'transfer-encoding':
          transferEncoding = true;
          // Chunked counts only as the last coding applied.
          chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
          break;
        case 'connection':
          for (const option of value.toLowerCase().split(',')) {
            const token = option.trim();
            if (token === 'close') connectionClose = true;
            else if (token === 'keep-alive') connectionKeepAlive = true;
          }
          break;
        case 'keep-alive': {
          const timeout = KEEP_ALIVE_TIMEOUT.exec(value);
          if (timeout !== null) keepAliveTimeoutMs = Number(timeout[1]) * 1000;
          break;
        }
        case 'retry-after':
          retryAfter ??= value;
          break;
        case 'www-authenticate':
          wwwAuthenticate = wwwAuthenticate === undefined ? value : `${wwwAuthenticate}, ${value}`;
          break;
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
