// Herald's own HTTP/1.1 delivery client (src/net/h1/) against listeners that write exact bytes:
// what it sends, how it reads each framing, when it keeps or drops a connection, and how it fails.
// Every listener is on loopback, on a port opened here.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import type { NetworkPolicy } from '../../src/domain/addresses.js';
import { createOutbound } from '../../src/net/outbound.js';
import type { Outbound, OutboundOptions } from '../../src/net/outbound.js';
import { expectFailure, expectOk } from '../helpers/send-result.js';

const LIFTED: NetworkPolicy = { allowPrivateNetwork: true, allowedNetworks: [] };

interface RawRequest {
  /** The request line. */
  readonly line: string;
  readonly path: string;
  /** Header lines as sent, decoded as Latin-1. */
  readonly headers: string[];
  readonly body: Buffer;
  /** Every byte of the request. */
  readonly raw: Buffer;
}

interface RawServer {
  readonly port: number;
  readonly base: string;
  readonly requests: RawRequest[];
  readonly sockets: Socket[];
  /** Connections accepted, open now, and the most open at once. */
  connections: number;
  open: number;
  maxOpen: number;
  /** Sockets whose other side (Herald) ended them. */
  endedByClient: number;
}

type Answer = (socket: Socket, request: RawRequest, server: RawServer) => void;

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track(options: Partial<OutboundOptions> = {}): Outbound {
  const outbound = createOutbound({ policy: LIFTED, ...options });
  cleanups.push(() => outbound.close());
  return outbound;
}

function closeServer(server: Server | HttpsServer, sockets: Iterable<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A listener that reads each request (head + Content-Length body) and lets `answer` reply. */
async function rawServer(answer: Answer): Promise<RawServer> {
  const server = createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const state: RawServer = {
    port,
    base: `http://127.0.0.1:${port}`,
    requests: [],
    sockets: [],
    connections: 0,
    open: 0,
    maxOpen: 0,
    endedByClient: 0,
  };
  server.on('connection', (socket: Socket) => {
    state.sockets.push(socket);
    state.connections++;
    state.maxOpen = Math.max(state.maxOpen, ++state.open);
    socket.on('error', () => undefined);
    socket.on('end', () => {
      state.endedByClient++;
      socket.end();
    });
    socket.on('close', () => state.open--);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [line = '', ...headers] = buffered.toString('latin1', 0, end).split('\r\n');
        const lengthLine = headers.find((h) => h.toLowerCase().startsWith('content-length:'));
        const length = lengthLine === undefined ? 0 : Number(lengthLine.split(':')[1]);
        if (buffered.length < end + 4 + length) return;
        const raw = buffered.subarray(0, end + 4 + length);
        buffered = buffered.subarray(raw.length);
        const body = raw.subarray(end + 4);
        const request = { line, path: line.split(' ')[1] ?? '', headers, body, raw };
        state.requests.push(request);
        answer(socket, request, state);
      }
    });
  });
  cleanups.push(() => closeServer(server, state.sockets));
  return state;
}

/** A complete response with a Content-Length. */
function reply(body: string, head = 'HTTP/1.1 200 OK', headers: string[] = []): string {
  const lines = [head, ...headers, `Content-Length: ${Buffer.byteLength(body)}`];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

function post(url: string, extra: Partial<Parameters<Outbound['send']>[0]> = {}) {
  return { url, headers: { 'content-type': 'text/plain' }, body: 'hi', timeoutMs: 3000, ...extra };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition() && performance.now() < deadline) await sleep(10);
  expect(condition(), `waited ${ms} ms for ${condition.toString()}`).toBe(true);
}

describe('the request Herald writes', () => {
  it('is exactly one POST with host, the given headers, content-length and the UTF-8 body', async () => {
    const server = await rawServer((socket) => socket.write(reply('OK')));
    const outbound = track();
    const body = '{"name":"é✓"}';
    const result = await outbound.send({
      url: `${server.base}/path?q=1#fragment`,
      headers: { 'content-type': 'application/json', 'x-label': 'café' },
      body,
      timeoutMs: 3000,
    });
    expect(expectOk(result)).toMatchObject({ status: 200, body: 'OK' });
    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.line).toBe('POST /path?q=1 HTTP/1.1');
    expect(Buffer.byteLength(body)).toBe(16); // 11 ASCII + é (2) + ✓ (3)
    expect(request.headers).toEqual([
      `host: 127.0.0.1:${server.port}`,
      'content-type: application/json',
      'x-label: caf\u00e9',
      'content-length: 16',
    ]);
    expect(request.body.equals(Buffer.from(body, 'utf8'))).toBe(true);
    // The Latin-1 value is one byte 0xE9, not UTF-8's C3 A9.
    expect(request.raw.includes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a]))).toBe(true);
    expect(request.raw.includes(Buffer.from('café', 'utf8'))).toBe(false);
    expect(request.raw.length).toBe(request.raw.indexOf('\r\n\r\n') + 4 + 16);
  });

  it('refuses a header value with a line break without connecting', async () => {
    const server = await rawServer((socket) => socket.write(reply('OK')));
    const outbound = track();
    for (const value of ['a\r\nx-injected: 1', 'a\nb', 'a\rb']) {
      const result = expectFailure(
        await outbound.send(post(`${server.base}/x`, { headers: { 'x-signature': value } })),
      );
      expect(result.failure).toBe('connect_error');
      expect(result.message).toMatch(/x-signature/);
    }
    await sleep(50);
    expect(server.connections).toBe(0);
    expect(server.requests).toHaveLength(0);
  });
});

describe('reading answers and keeping connections', () => {
  it('joins a chunked body with extensions and a trailer, then reuses the connection', async () => {
    const server = await rawServer((socket) =>
      socket.write(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '5;name=value\r\nhello\r\n6 ;a="b;c"\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n',
      ),
    );
    const outbound = track();
    expect(expectOk(await outbound.send(post(`${server.base}/a`))).body).toBe('hello world');
    expect(expectOk(await outbound.send(post(`${server.base}/b`))).body).toBe('hello world');
    expect(server.requests.map((r) => r.path)).toEqual(['/a', '/b']);
    expect(server.connections).toBe(1);
  });

  it('reads a body that runs until the listener closes, then opens a new connection', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ');
      setTimeout(() => socket.end('part two'), 20);
    });
    const outbound = track();
    for (let i = 0; i < 2; i++) {
      const result = expectOk(await outbound.send(post(`${server.base}/stream`)));
      expect(result).toMatchObject({ status: 200, body: 'part one, part two' });
    }
    expect(server.connections).toBe(2);
  });

  it.each([
    ['Connection: close', 2, reply('bye', 'HTTP/1.1 200 OK', ['Connection: close'])],
    ['HTTP/1.0 without keep-alive', 2, reply('bye', 'HTTP/1.0 200 OK')],
    ['HTTP/1.0 with keep-alive', 1, reply('bye', 'HTTP/1.0 200 OK', ['Connection: keep-alive'])],
    ['Keep-Alive: timeout=2 (kept 0 s)', 2, reply('bye', undefined, ['Keep-Alive: timeout=2'])],
    ['Keep-Alive: timeout=3 (kept 1 s)', 1, reply('bye', undefined, ['Keep-Alive: timeout=3'])],
  ])('after %s, two requests take %i connection(s)', async (_name, connections, answer) => {
    // The listener never closes: whatever is dropped, Herald dropped.
    const server = await rawServer((socket) => socket.write(answer));
    const outbound = track();
    for (let i = 0; i < 2; i++) {
      expect(expectOk(await outbound.send(post(`${server.base}/x`)))).toMatchObject({
        status: 200,
        body: 'bye',
      });
    }
    expect(server.connections).toBe(connections);
    expect(server.requests).toHaveLength(2);
    if (connections === 2) await waitFor(() => server.endedByClient >= 1);
  });

  it('keeps each connection’s unfinished answer apart when their reads interleave', async () => {
    const waiting: Socket[] = [];
    const server = await rawServer((socket) => {
      waiting.push(socket);
      if (waiting.length < 2) return;
      const [a, b] = waiting as [Socket, Socket];
      // Both heads arrive cut in the middle, one connection's read between the other's parts.
      a.write('HTTP/1.1 200 OK\r\nContent-Le');
      setTimeout(() => b.write('HTTP/1.1 201 Created\r\nX-Other: zzzzzzzzzzzz'), 20);
      setTimeout(() => a.write('ngth: 5\r\n\r\nfirst'), 40);
      setTimeout(() => b.write('zz\r\nContent-Length: 6\r\n\r\nsecond'), 60);
    });
    const outbound = track();
    const [one, two] = await Promise.all([
      outbound.send(post(`${server.base}/a`)),
      outbound.send(post(`${server.base}/b`)),
    ]);
    const bodies = [expectOk(one), expectOk(two)].map((r) => `${r.status} ${r.body}`).sort();
    expect(bodies).toEqual(['200 first', '201 second']);
  });

  it('skips 100 Continue and 103 Early Hints, in the same write or in separate ones', async () => {
    const server = await rawServer((socket, request) => {
      const interim = 'HTTP/1.1 100 Continue\r\n\r\n';
      if (request.path === '/same') socket.write(interim + reply('final', 'HTTP/1.1 201 Created'));
      else if (request.path === '/hints') {
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n');
        setTimeout(() => socket.write(reply('final', 'HTTP/1.1 202 Accepted')), 20);
      } else {
        socket.write(interim.slice(0, 10));
        setTimeout(() => socket.write(interim.slice(10)), 20);
        setTimeout(() => socket.write(reply('final')), 40);
      }
    });
    const outbound = track();
    const same = expectOk(await outbound.send(post(`${server.base}/same`)));
    expect(same).toMatchObject({ status: 201, body: 'final' });
    const apart = expectOk(await outbound.send(post(`${server.base}/apart`)));
    expect(apart).toMatchObject({ status: 200, body: 'final' });
    const hints = expectOk(await outbound.send(post(`${server.base}/hints`)));
    expect(hints).toMatchObject({ status: 202, body: 'final' });
    expect(server.connections).toBe(1);
  });
});

describe('broken listeners', () => {
  it('reports a listener that does not speak HTTP', async () => {
    const server = await rawServer((socket) => socket.write('SSH-2.0-OpenSSH\r\n\r\n'));
    const result = expectFailure(await track().send(post(`${server.base}/x`)));
    expect(result.failure).toBe('connect_error');
    expect(result.message).toBe('the listener did not answer with valid HTTP');
  });

  it('fails at once on an answer whose lines end with LF alone, not at the timeout', async () => {
    const server = await rawServer((socket) =>
      socket.write('HTTP/1.1 200 OK\ncontent-length: 2\n\nok'),
    );
    const started = performance.now();
    const result = expectFailure(
      await track().send(post(`${server.base}/x`, { timeoutMs: 10_000 })),
    );
    expect(result.failure).toBe('connect_error');
    expect(result.message).toBe('the listener answered with lines not ended by CRLF');
    // Well before the timeout, with room for a busy machine's stalls.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('fails the request, and stays up, when the sender’s stillWanted throws', async () => {
    const server = await rawServer((socket) => socket.write(reply('ok')));
    const stillWanted = () => {
      throw new Error('the sender broke');
    };
    const result = expectFailure(await track().send(post(`${server.base}/x`, { stillWanted })));
    expect(result).toMatchObject({ failure: 'connect_error', message: 'the sender broke' });
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a header section over 16 KiB and reads one just under it', async () => {
    const server = await rawServer((socket, request) => {
      const size = request.path === '/over' ? 17 * 1024 : 15 * 1024;
      socket.write(reply('ok', 'HTTP/1.1 200 OK', [`X-Big: ${'a'.repeat(size)}`]));
    });
    const outbound = track();
    const over = expectFailure(await outbound.send(post(`${server.base}/over`)));
    expect(over.failure).toBe('connect_error');
    expect(over.message).toMatch(/headers (are )?too large/);
    expect(expectOk(await outbound.send(post(`${server.base}/under`))).body).toBe('ok');
  });

  it('reports an answer cut short or never given, and the next request still works', async () => {
    const server = await rawServer((socket, request) => {
      if (request.path === '/cut') {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
        setTimeout(() => socket.end(), 20);
      } else if (request.path === '/hangup') socket.end();
      else socket.write(reply('fine'));
    });
    const outbound = track();
    const cut = expectFailure(await outbound.send(post(`${server.base}/cut`)));
    expect(cut.failure).toBe('connect_error');
    // (The phrase for a cut answer is being extended as this is written: either is right.)
    expect(cut.message).toMatch(/^the listener closed the connection( before the end of .*)?$/);
    const hangup = expectFailure(await outbound.send(post(`${server.base}/hangup`)));
    expect(hangup.failure).toBe('connect_error');
    expect(hangup.message).toBe('the listener closed the connection');
    expect(expectOk(await outbound.send(post(`${server.base}/ok`)))).toMatchObject({
      status: 200,
      body: 'fine',
    });
    expect(server.requests.map((r) => r.path)).toEqual(['/cut', '/hangup', '/ok']);
    expect(server.connections).toBe(3);
  });

  it('opens a new connection when the listener closed the idle one', async () => {
    const server = await rawServer((socket) => {
      socket.write(reply('OK'));
      setTimeout(() => socket.destroy(), 50);
    });
    const outbound = track();
    expectOk(await outbound.send(post(`${server.base}/first`)));
    await sleep(200);
    expect(server.open).toBe(0);
    expect(expectOk(await outbound.send(post(`${server.base}/second`))).body).toBe('OK');
    expect(server.connections).toBe(2);
  });
});

describe('the pool', () => {
  it('never opens more than connectionsPerOrigin connections', async () => {
    const server = await rawServer((socket, request) => {
      setTimeout(() => socket.write(reply(`done ${request.path}`)), 50);
    });
    const outbound = track({ connectionsPerOrigin: 2 });
    const paths = ['/1', '/2', '/3', '/4', '/5', '/6'];
    const results = await Promise.all(paths.map((p) => outbound.send(post(`${server.base}${p}`))));
    expect(results.map((r) => expectOk(r).body)).toEqual(paths.map((p) => `done ${p}`));
    expect(server.maxOpen).toBe(2);
    expect(server.connections).toBe(2);
    expect(server.requests).toHaveLength(6);
  });

  it('closes a connection idle longer than keepAliveTimeoutMs', async () => {
    const server = await rawServer((socket) => socket.write(reply('OK')));
    const outbound = track({ keepAliveTimeoutMs: 100 });
    expectOk(await outbound.send(post(`${server.base}/x`)));
    const answered = performance.now();
    expect(server.open).toBe(1);
    await waitFor(() => server.endedByClient === 1, 2500); // swept once a second
    expect(performance.now() - answered).toBeGreaterThanOrEqual(90);
    await waitFor(() => server.open === 0, 500);
    expectOk(await outbound.send(post(`${server.base}/y`)));
    expect(server.connections).toBe(2);
  });

  it('does not keep the process alive with an idle connection', async () => {
    const server = await rawServer((socket) => socket.write(reply('ok')));
    const tcp = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const outbound = createOutbound({ policy: LIFTED });
    expectOk(await outbound.send(post(`${server.base}/x`)));
    await waitFor(() => server.sockets.length === 1);
    // The listener's end of the connection is the test's own; Herald's idle end must not count.
    server.sockets[0]!.unref();
    const withIdle = tcp();
    expectOk(await outbound.send(post(`${server.base}/y`))); // the idle connection still works
    expect(server.connections).toBe(1);
    await outbound.close();
    await waitFor(() => server.open === 0);
    expect(tcp()).toBe(withIdle);
  });

  it('reports a body that runs until close as cut, not complete, when closed meanwhile', async () => {
    const server = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\n\r\npartial'));
    const outbound = createOutbound({ policy: LIFTED });
    cleanups.push(() => outbound.close());
    const pending = outbound.send(post(`${server.base}/x`));
    await waitFor(() => server.requests.length === 1);
    await sleep(50);
    await outbound.close();
    const result = expectFailure(await pending);
    expect(result.message).toBe('Herald shut down before the answer came');
  });

  it('fails what is in flight and what waits when closed, and every send after', async () => {
    const server = await rawServer(() => undefined); // never answers
    const outbound = createOutbound({ policy: LIFTED, connectionsPerOrigin: 1 });
    cleanups.push(() => outbound.close()); // closing twice is harmless
    const inFlight = outbound.send(post(`${server.base}/1`, { timeoutMs: 20_000 }));
    const waiting = outbound.send(post(`${server.base}/2`, { timeoutMs: 20_000 }));
    await waitFor(() => server.requests.length === 1);
    const started = performance.now();
    await outbound.close();
    const [first, second] = await Promise.all([inFlight, waiting]);
    // At the close, not at the timeout, with room for a busy machine's stalls.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(expectFailure(first).failure).toBe('connect_error');
    expect(expectFailure(first).message).toBe('Herald shut down before the answer came');
    expect(expectFailure(second).failure).toBe('connect_error');
    expect(expectFailure(second).message).toBe('not sent: Herald is shutting down');
    const later = expectFailure(await outbound.send(post(`${server.base}/3`)));
    expect(later).toMatchObject({ failure: 'connect_error', durationMs: 0 });
    expect(later.message).toBe('not sent: Herald is shutting down');
    await sleep(20);
    expect(server.requests.map((r) => r.path)).toEqual(['/1']);
    expect(server.connections).toBe(1);
  });
});

describe('TLS', () => {
  let dir: string;
  let cert: string;
  let server: HttpsServer;
  let port: number;
  let connections = 0;
  const sockets = new Set<Socket>();
  /** Per TLS connection accepted: whether it resumed an earlier session. */
  const resumed: boolean[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    execFileSync(
      '/usr/bin/openssl',
      [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'),
        '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore', timeout: 20_000 },
    ); // prettier-ignore
    cert = readFileSync(join(dir, 'c.pem'), 'utf8');
    server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert }, (req, res) => {
      req.resume();
      const close = req.url === '/bye' ? { connection: 'close' } : {};
      req.on('end', () => res.writeHead(200, close).end(`secure ${req.url} ${req.headers.host}`));
    });
    server.on('secureConnection', (socket: TLSSocket) => resumed.push(socket.isSessionReused()));
    server.on('connection', (socket: Socket) => {
      connections++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    if (server !== undefined) await closeServer(server, sockets);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers by name and by address with the listener’s authority, one connection each', async () => {
    const outbound = track({ ca: cert });
    const before = connections;
    for (let i = 0; i < 2; i++) {
      const result = expectOk(await outbound.send(post(`https://localhost:${port}/x`)));
      expect(result).toMatchObject({ status: 200, body: `secure /x localhost:${port}` });
    }
    expect(connections - before).toBe(1);
    for (let i = 0; i < 2; i++) {
      const result = expectOk(await outbound.send(post(`https://127.0.0.1:${port}/x`)));
      expect(result).toMatchObject({ status: 200, body: `secure /x 127.0.0.1:${port}` });
    }
    expect(connections - before).toBe(2);
  });

  it('resumes its TLS session when it opens a new connection to the same listener', async () => {
    const outbound = track({ ca: cert });
    const before = resumed.length;
    expectOk(await outbound.send(post(`https://localhost:${port}/bye`))); // the listener closes
    expectOk(await outbound.send(post(`https://localhost:${port}/x`)));
    expect(resumed.slice(before)).toEqual([false, true]);
  });

  it('refuses a self-signed certificate it was not told to trust', async () => {
    const result = expectFailure(await track().send(post(`https://localhost:${port}/x`)));
    expect(result.failure).toBe('connect_error');
    expect(result.message).toBe('TLS certificate is self-signed');
  });

  it('gives up on a handshake that never completes after connectTimeoutMs', async () => {
    const silent = await rawServer(() => undefined); // accepts TCP, never answers the hello
    const outbound = track({ connectTimeoutMs: 200 });
    const result = expectFailure(
      await outbound.send(post(`https://127.0.0.1:${silent.port}/x`, { timeoutMs: 5000 })),
    );
    expect(result.failure).toBe('timeout');
    expect(result.message).toBe('connection not established in time');
    expect(result.durationMs).toBeGreaterThanOrEqual(190);
    expect(result.durationMs).toBeLessThan(2000);
    expect(silent.connections).toBe(1);
  });
});
