// ResponseParser (net/h1/response-parser.ts): the head Herald keeps, the body whatever its framing,
// interim 1xx skipped, whether the connection may be reused, the HPE_ errors, and the same outcome
// however the bytes are cut into reads.

import { describe, expect, it } from 'vitest';
import {
  ResponseParseError,
  ResponseParser,
  type ResponseHead,
} from '../../src/net/h1/response-parser.js';

const MAX = 8192;
const bytes = (text: string) => Buffer.from(text, 'latin1');

/**
 * Feeds the reads in order and stops at the end of the response, as the pool does. `done` is read
 * before the close, `closed` is what closed() then answers (null after an error), `leftover` is
 * what feed returned plus the reads not fed, `pieces` the body as the sink received it.
 */
function run(reads: readonly Buffer[], max = MAX) {
  const heads: ResponseHead[] = [];
  const pieces: string[] = [];
  const parser = new ResponseParser(max);
  parser.reset({
    head: (head) => heads.push(head),
    data: (c) => pieces.push(c.toString('latin1')),
  });
  let leftover: string | null = null;
  let error: string | null = null;
  try {
    for (const [i, read] of reads.entries()) {
      const rest = parser.feed(read);
      if (parser.done) {
        const after = Buffer.concat([...(rest === null ? [] : [rest]), ...reads.slice(i + 1)]);
        if (after.length > 0) leftover = after.toString('latin1');
        break;
      }
      expect(rest).toBeNull();
    }
  } catch (e) {
    if (!(e instanceof ResponseParseError)) throw e;
    error = e.code;
  }
  const done = parser.done;
  const closed = error === null ? parser.closed() : null;
  const body = pieces.join('');
  return { heads, body, pieces, done, closed, reusable: parser.reusable, leftover, error };
}

/** Every cut into two reads, then one read per byte. */
function everySplit(raw: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let i = 1; i < raw.length; i++) ways.push([raw.subarray(0, i), raw.subarray(i)]);
  ways.push([...raw].map((b) => Buffer.from([b])));
  return ways;
}

/** The outcome, apart from how the body was cut, is the same for every split as for one read. */
function expectSplitInvariant(raw: Buffer, max = MAX) {
  const whole = { ...run([raw], max), pieces: [] };
  for (const reads of everySplit(raw)) {
    const split = { ...run(reads, max), pieces: [] };
    expect(split, `cut into ${reads.map((r) => r.length).join('+')}`).toEqual(whole);
  }
  return run([raw], max);
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (e) {
    expect(e).toBeInstanceOf(ResponseParseError);
    expect((e as ResponseParseError).name).toBe('ResponseParseError');
    return (e as ResponseParseError).code;
  }
  throw new Error('nothing was thrown');
}

const ALL_BYTES = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));

interface Valid {
  name: string;
  raw: string;
  status: number;
  body: string;
  /** Complete without a close (default true). */
  done?: boolean;
  reusable?: boolean;
  leftover?: string;
}

const OK = 'HTTP/1.1 200 OK\r\n';
const CHUNKED = `${OK}Transfer-Encoding: chunked\r\n\r\n`;
const SECOND = 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n';
const VALID: Valid[] = [
  {
    name: 'a Content-Length body',
    raw: `${OK}Content-Length: 5\r\n\r\nhello`,
    status: 200,
    body: 'hello',
  },
  {
    raw: `${OK}Content-Length: 256\r\n\r\n${ALL_BYTES}`,
    ...{ name: 'a binary Content-Length body', status: 200, body: ALL_BYTES },
  },
  {
    raw: 'HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n',
    ...{ name: 'a zero Content-Length', status: 202, body: '' },
  },
  {
    raw: 'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n',
    ...{ name: 'a 204 with a Content-Length', status: 204, body: '' },
  },
  {
    raw: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 1234\r\n\r\n',
    ...{ name: 'a 304 with the Content-Length of the resource', status: 304, body: '' },
  },
  {
    raw: `${CHUNKED}5;ext=1\r\nhello\r\nA\r\n, chunked!\r\nc\r\n lower hex c\r\nC ; a=b\r\n upper hex C\r\n0\r\n\r\n`,
    ...{ name: 'chunks with extensions and hex sizes in both cases', status: 200 },
    body: 'hello, chunked! lower hex c upper hex C',
  },
  {
    raw: `${OK}transfer-encoding: Chunked\r\n\r\n4\r\nabcd\r\n0\r\nX-Checksum: 1\r\nX-Other: two\r\n\r\n`,
    ...{ name: 'chunks with trailers', status: 200, body: 'abcd' },
  },
  {
    raw: `${OK}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\n\x1f\x8b\x08\r\n0\r\n\r\n`,
    ...{ name: 'gzip, chunked (chunked last)', status: 200, body: '\x1f\x8b\x08' },
  },
  {
    raw: `${OK}Transfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    ...{ name: 'chunked, gzip (not chunked: until close)', status: 200, done: false },
    ...{ body: '5\r\nhello\r\n0\r\n\r\n', reusable: false },
  },
  {
    raw: `${OK}Content-Type: text/plain\r\n\r\nuntil the end`,
    ...{ name: 'a body without framing (until close)', status: 200, body: 'until the end' },
    ...{ done: false, reusable: false },
  },
  {
    raw: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    ...{ name: '100 Continue, then the answer', status: 201, body: 'ok' },
  },
  {
    raw:
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nContent-Length: 9\r\n\r\n' +
      `HTTP/1.1 100 Continue\r\n\r\n${OK}Content-Length: 0\r\n\r\n`,
    ...{ name: '103 Early Hints and 100 Continue, then the answer', status: 200, body: '' },
  },
  {
    raw: `${OK}Connection: close\r\nContent-Length: 1\r\n\r\nx`,
    ...{ name: 'Connection: close', status: 200, body: 'x', reusable: false },
  },
  {
    raw: 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc',
    ...{ name: 'HTTP/1.0', status: 200, body: 'abc', reusable: false },
  },
  {
    raw: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\nabc',
    ...{ name: 'HTTP/1.0 with Connection: keep-alive', status: 200, body: 'abc' },
  },
  {
    raw: `${OK}Content-Length: 2\r\n\r\nok${SECOND}`,
    ...{ name: 'a second response after a Content-Length body', status: 200, body: 'ok' },
    leftover: SECOND,
  },
  {
    raw: `${CHUNKED}2\r\nok\r\n0\r\n\r\n${SECOND}`,
    ...{ name: 'a second response after chunks', status: 200, body: 'ok', leftover: SECOND },
  },
  {
    raw: `HTTP/1.1 204 No Content\r\n\r\n${SECOND}`,
    ...{ name: 'a second response after a 204', status: 204, body: '', leftover: SECOND },
  },
];

describe('ResponseParser: valid responses', () => {
  it.each(VALID)('$name, in one read', (c) => {
    const { error, heads, body, leftover, done, closed, reusable } = run([bytes(c.raw)]);
    expect([error, heads.map((h) => h.status), body, leftover]).toEqual([
      ...[null, [c.status], c.body, c.leftover ?? null],
    ]);
    expect([done, closed, reusable]).toEqual([c.done ?? true, true, c.reusable ?? true]);
  });

  it.each(VALID)('$name: the same outcome cut at every byte and byte by byte', (c) => {
    const out = expectSplitInvariant(bytes(c.raw));
    expect(out.heads).toHaveLength(1);
  });

  it('hands on the body as it comes, in the reads it came in', () => {
    const out = run([bytes(`${OK}Content-Length: 11\r\n\r\nhel`), bytes('lo '), bytes('world')]);
    expect([out.pieces, out.done]).toEqual([['hel', 'lo ', 'world'], true]);
  });

  it('stops at the end of the first response and returns the rest untouched', () => {
    const out = run([bytes(`${OK}Content-Length: 2\r\n\r\nokXYZ`)]);
    expect([out.body, out.leftover]).toEqual(['ok', 'XYZ']);
  });

  it('accepts a Content-Length repeated with the same value', () => {
    const out = run([bytes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok')]);
    expect([out.error, out.body, out.done]).toEqual([null, 'ok', true]);
  });
});

describe('ResponseParser: the head', () => {
  const headOf = (lines: string) => run([bytes(`HTTP/1.1 429 Too Many\r\n${lines}\r\n\r\n`)]).heads;

  it('keeps the first Retry-After, trimmed', () => {
    const [head] = headOf('Retry-After:   120  \r\nretry-after: 5\r\nContent-Length: 0');
    expect(head!.retryAfter).toBe('120');
  });

  it('joins repeated WWW-Authenticate headers with ", "', () => {
    const [head] = headOf(
      'WWW-Authenticate: Bearer realm="a"\r\nwww-authenticate: Basic realm="b"\r\nContent-Length: 0',
    );
    expect(head!.wwwAuthenticate).toBe('Bearer realm="a", Basic realm="b"');
  });

  it('reads header names whatever their case', () => {
    const raw = 'HTTP/1.1 401 No\r\nCONTENT-LENGTH: 3\r\nwWw-AuThEnTiCaTe: Basic\r\n';
    const out = run([bytes(`${raw}RETRY-AFTER: 7\r\ncOnNeCtIoN: CLOSE\r\n\r\nabcdef`)]);
    expect(out.heads).toEqual([
      { status: 401, retryAfter: '7', wwwAuthenticate: 'Basic', keepAliveTimeoutMs: undefined },
    ]);
    expect([out.body, out.leftover, out.reusable]).toEqual(['abc', 'def', false]);
  });

  it('reads Keep-Alive timeout in ms, and nothing when it has none', () => {
    const [head] = headOf('Keep-Alive: timeout=5, max=100\r\nContent-Length: 0');
    expect(head!.keepAliveTimeoutMs).toBe(5000);
    expect(headOf('keep-alive: max=100')[0]!.keepAliveTimeoutMs).toBeUndefined();
  });

  it.each([
    ['timeout=5', 5000],
    ['TIMEOUT=7', 7000],
    [' timeout=05 ', 5000],
    ['max=100, timeout=3', 3000],
    ['max=100;timeout=4', 4000],
    ['timeout = 6', 6000],
    // Nine digits at most are read, as many as a timeout can usefully have.
    ['timeout=1234567890', 123456789000],
    ['timeout=', undefined],
    ['timeout=x', undefined],
    ['xtimeout=5', undefined],
  ])('reads Keep-Alive %j as %j ms', (value, ms) => {
    expect(headOf(`Keep-Alive: ${value}\r\nContent-Length: 0`)[0]!.keepAliveTimeoutMs).toBe(ms);
  });

  it.each([
    ['1.1', 'keep-alive', true],
    ['1.1', 'Keep-Alive', true],
    ['1.1', 'KEEP-ALIVE', true],
    ['1.1', 'close', false],
    ['1.1', 'Close', false],
    ['1.1', 'keep-alive, close', false],
    ['1.1', 'upgrade, CLOSE', false],
    ['1.1', 'keep-alivex', true],
    ['1.0', 'keep-alive', true],
    ['1.0', 'Keep-Alive', true],
    ['1.0', 'keep-alivex', false],
    ['1.0', 'x, keep-alive', true],
  ])('reads Connection on HTTP/%s: %s as reusable %s', (version, value, reusable) => {
    const out = run([
      bytes(`HTTP/${version} 200 OK\r\nConnection: ${value}\r\nContent-Length: 0\r\n\r\n`),
    ]);
    expect([out.error, out.reusable]).toEqual([null, reusable]);
  });

  it('calls head once, with the final status, when 100 Continue comes in a read of its own', () => {
    const heads: ResponseHead[] = [];
    const parser = new ResponseParser(MAX);
    parser.reset({ head: (h) => heads.push(h), data: () => {} });
    expect(parser.feed(bytes('HTTP/1.1 100 Continue\r\n\r\n'))).toBeNull();
    expect([heads.length, parser.done]).toEqual([0, false]);
    expect(parser.feed(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))).toBeNull();
    expect(heads.map((h) => h.status)).toEqual([200]);
    expect(parser.done).toBe(true);
  });

  it('refuses 101 Switching Protocols without calling head', () => {
    const out = run([bytes('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n')]);
    expect([out.error, out.heads.length]).toEqual(['HPE_INVALID_CONSTANT', 0]);
  });
});

const REFUSED: [string, string[]][] = [
  [
    'HPE_INVALID_CONSTANT',
    [
      'SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n\r\n',
      ...['HTTP/2 200', 'HTTP/1.1 20 OK', 'http/1.1 200 OK'].map((line) => `${line}\r\n\r\n`),
    ],
  ],
  [
    'HPE_INVALID_HEADER_TOKEN',
    [
      `${OK}NoColonHere\r\nContent-Length: 0\r\n\r\n`,
      `${OK}X-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n`, // obs-fold
      `${OK}Content-Length : 0\r\n\r\n`,
      `${OK}: x\r\nContent-Length: 0\r\n\r\n`,
    ],
  ],
  [
    'HPE_LF_EXPECTED',
    [
      'HTTP/1.1 200 OK\ncontent-length: 2\n\nok', // the CRLF blank line would never come
      `${OK}X-A: 1\nContent-Length: 0\r\n\r\n`,
      `${OK}X-A: 1\rX-B: 2\r\nContent-Length: 0\r\n\r\n`,
    ],
  ],
  [
    'HPE_INVALID_CONTENT_LENGTH',
    ['abc', '-1', '1.5', '', '5, 5', '5\r\nContent-Length: 6'].map(
      (value) => `${OK}Content-Length: ${value}\r\n\r\nhello!`,
    ),
  ],
  [
    'HPE_UNEXPECTED_CONTENT_LENGTH',
    [
      `${OK}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      `${OK}Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello`,
    ],
  ],
  [
    'HPE_INVALID_CHUNK_SIZE',
    [
      ...['zz', '', '0x5', '-5', ' 5'].map((size) => `${CHUNKED}${size}\r\nhello\r\n0\r\n\r\n`),
      `${CHUNKED}5\r\nhelloX\r\n0\r\n\r\n`, // longer than its size
      `${CHUNKED}5;${'e'.repeat(5000)}`, // a size line that never ends
    ],
  ],
];
const label = (raw: string) => raw.replace(CHUNKED, '[chunked] ').replace(OK, '[200] ');
const ERRORS = REFUSED.flatMap(([code, raws]) =>
  raws.map((raw) => ({ code, raw, label: JSON.stringify(label(raw)).slice(0, 38) })),
);

describe('ResponseParser: errors', () => {
  it.each(ERRORS)('refuses with $code: $label, in one read and cut anywhere', ({ code, raw }) => {
    const out = expectSplitInvariant(bytes(raw));
    expect(out.error).toBe(code);
  });

  it('refuses a non-HTTP start as soon as it shows, without waiting for a blank line', () => {
    const parser = new ResponseParser(MAX);
    parser.reset({ head: () => {}, data: () => {} });
    expect(codeOf(() => parser.feed(bytes('SSH-2.0-OpenSSH_9.6\r\n')))).toBe(
      'HPE_INVALID_CONSTANT',
    );
  });

  it('refuses headers larger than maxHeaderBytes when the blank line never comes', () => {
    const parser = new ResponseParser(64);
    parser.reset({ head: () => {}, data: () => {} });
    // 64 bytes and up to three more (they may be the start of the blank line): still waiting.
    const head = `${OK}X-Pad: ${'a'.repeat(43)}`;
    expect(head).toHaveLength(67);
    expect(parser.feed(bytes(head))).toBeNull();
    expect(codeOf(() => parser.feed(bytes('a')))).toBe('HPE_HEADER_OVERFLOW');
    expect(run([bytes(`${OK}X-Pad: ${'a'.repeat(200)}`)], 64).error).toBe('HPE_HEADER_OVERFLOW');
  });

  it('refuses headers larger than maxHeaderBytes when the blank line comes', () => {
    const head = `${OK}X-Pad: ${'a'.repeat(41)}`; // 65 bytes
    expect(run([bytes(`${head}\r\n\r\n`)], 64).error).toBe('HPE_HEADER_OVERFLOW');
    const fits = run([bytes(`${head.slice(0, -1)}\r\n\r\n`)], 64);
    expect([fits.error, fits.heads.length, fits.closed]).toEqual([null, 1, true]);
  });

  it('gives headers of exactly maxHeaderBytes the same outcome however they are cut', () => {
    const raw = bytes(`${OK}X-Pad: ${'a'.repeat(16)}\r\nContent-Length: 0\r\n\r\n`);
    const out = expectSplitInvariant(raw, raw.length - 4);
    expect([out.error, out.done]).toEqual([null, true]);
  });
});

describe('ResponseParser: closed()', () => {
  it('completes a body that runs until close', () => {
    const out = run([bytes(`${OK}\r\nabc`), bytes('def')]);
    expect([out.done, out.closed, out.body, out.reusable]).toEqual([false, true, 'abcdef', false]);
    const empty = run([bytes(`${OK}X-A: 1\r\n\r\n`)]); // no body yet
    expect([empty.heads.length, empty.done, empty.closed, empty.body]).toEqual([
      1,
      false,
      true,
      '',
    ]);
  });

  it('answers false mid body, mid chunks, mid headers and before any byte; true when complete', () => {
    expect(run([bytes(`${OK}Content-Length: 10\r\n\r\nabc`)]).closed).toBe(false);
    expect(run([bytes(`${CHUNKED}5\r\nhel`)]).closed).toBe(false);
    expect(run([bytes(`${CHUNKED}5\r\nhello\r\n0\r\n`)]).closed).toBe(false);
    expect(run([bytes(`${OK}Content-Le`)]).closed).toBe(false);
    expect(run([bytes('HTTP/1.1 100 Continue\r\n\r\n')]).closed).toBe(false);
    expect(run([]).closed).toBe(false);
    expect(run([bytes(`${OK}Content-Length: 1\r\n\r\nx`)]).closed).toBe(true); // complete
  });
});

describe('ResponseParser: reset()', () => {
  function collector() {
    const got = { statuses: [] as number[], body: '' };
    const head = (h: ResponseHead) => got.statuses.push(h.status);
    return { got, sink: { head, data: (c: Buffer) => (got.body += c.toString('latin1')) } };
  }

  it('readies the parser for the next response on the same connection', () => {
    const parser = new ResponseParser(MAX);
    const first = collector();
    parser.reset(first.sink);
    const rest = parser.feed(
      bytes(`${OK}Connection: close\r\nContent-Length: 1\r\n\r\nx${SECOND}`),
    );
    expect([parser.done, parser.reusable, rest?.toString('latin1')]).toEqual([true, false, SECOND]);
    const second = collector();
    parser.reset(second.sink);
    expect([parser.done, parser.reusable]).toEqual([false, true]);
    expect(parser.feed(rest!)).toBeNull();
    expect([parser.done, parser.reusable]).toEqual([true, true]);
    expect(first.got).toEqual({ statuses: [200], body: 'x' });
    expect(second.got).toEqual({ statuses: [500], body: '' });
  });

  it('forgets a half-read head and a body that ran until close', () => {
    const parser = new ResponseParser(MAX);
    const { got, sink } = collector();
    parser.reset(sink);
    expect(parser.feed(bytes(`${OK}X-Half`))).toBeNull();
    parser.reset(sink);
    expect(parser.feed(bytes(`${OK}\r\nrest`))).toBeNull();
    parser.reset(sink);
    expect(parser.feed(bytes(`${CHUNKED}2\r\nok\r\n0\r\n\r\n`))).toBeNull();
    expect([parser.done, parser.reusable]).toEqual([true, true]);
    expect(got).toEqual({ statuses: [200, 200], body: 'restok' });
  });
});
