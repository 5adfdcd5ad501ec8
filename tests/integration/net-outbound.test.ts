import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { lookup as dnsLookup } from 'node:dns';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '../../src/errors.js';
import type { NetworkPolicy } from '../../src/domain/addresses.js';
import { checkDestination, isDestinationBlocked, type LookupAll } from '../../src/net/guard.js';
import { createOutbound } from '../../src/net/outbound.js';
import type { Outbound } from '../../src/net/outbound.js';
import { expectFailure, expectOk } from '../helpers/send-result.js';

const STRICT: NetworkPolicy = { allowPrivateNetwork: false, allowedNetworks: [] };
const LOOPBACK_LISTED: NetworkPolicy = {
  allowPrivateNetwork: false,
  allowedNetworks: ['127.0.0.0/8', '::1/128'],
};
const LIFTED: NetworkPolicy = { allowPrivateNetwork: true, allowedNetworks: [] };

const BIG_BODY = 'abcdefghij'.repeat(1000); // 10 000 bytes: over the 4 KiB kept, under the drain
const HUGE_BODY = 'x'.repeat(1024 * 1024); // over kept + drain: the socket must be dropped
const LATE_MS = 200; // how long `/late` keeps its answer

interface TestServer {
  readonly server: Server;
  readonly port: number;
  readonly base: string;
  connections: number;
  requests: number;
  close(): Promise<void>;
}

async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const state: TestServer = {
    server,
    port,
    base: `http://127.0.0.1:${port}`,
    connections: 0,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => state.connections++);
  server.on('request', () => state.requests++);
  return state;
}

function routes(req: IncomingMessage, res: ServerResponse): void {
  // Read the request body before answering so the connection stays reusable.
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    switch (req.url) {
      case '/ok':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
        return;
      case '/echo':
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ method: req.method, type: req.headers['content-type'], body }));
        return;
      case '/big':
        res.writeHead(200, { 'content-type': 'text/plain' }).end(BIG_BODY);
        return;
      case '/huge':
        res.writeHead(200, { 'content-type': 'text/plain' }).end(HUGE_BODY);
        return;
      case '/nul':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('bad\u0000byte');
        return;
      case '/redirect':
        res.writeHead(302, { location: '/ok' }).end();
        return;
      case '/busy':
        res.writeHead(429, { 'retry-after': '120' }).end('slow down');
        return;
      case '/expired':
        res
          .writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' })
          .end('[{"errorCode":"INVALID_SESSION_ID"}]');
        return;
      case '/late':
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('late'), LATE_MS);
        return;
      case '/silent':
        return; // never answers
      default:
        res.writeHead(404).end();
    }
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition(), `waited for ${condition.toString()}`).toBe(true);
}

function post(url: string, timeoutMs = 5000): Parameters<Outbound['send']>[0] {
  return { url, headers: { 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs };
}

describe('outbound', () => {
  let target: TestServer;
  let listed: Outbound;
  let strict: Outbound;
  let lifted: Outbound;

  beforeAll(async () => {
    target = await startServer(routes);
    listed = createOutbound({ policy: LOOPBACK_LISTED });
    strict = createOutbound({ policy: STRICT });
    lifted = createOutbound({ policy: LIFTED });
  });

  afterAll(async () => {
    await Promise.all([listed.close(), strict.close(), lifted.close()]);
    await target.close();
  });

  describe('send', () => {
    it('posts the body and headers and returns the response', async () => {
      const result = expectOk(await listed.send(post(`${target.base}/echo`)));
      expect(result.status).toBe(200);
      expect(JSON.parse(result.body)).toEqual({
        method: 'POST',
        type: 'application/json',
        body: '{"a":1}',
      });
      expect(result.retryAfter).toBeUndefined();
      expect(result.wwwAuthenticate).toBeUndefined();
    });

    it('reports how long the exchange took, from before the request to the end of the answer', async () => {
      const started = performance.now();
      const result = expectOk(await listed.send(post(`${target.base}/late`)));
      const outside = performance.now() - started;
      expect(result).toMatchObject({ status: 200, body: 'late' });
      // The listener held its answer for LATE_MS: the exchange cannot have taken less.
      expect(result.durationMs).toBeGreaterThanOrEqual(LATE_MS - 1);
      expect(result.durationMs).toBeLessThanOrEqual(Math.ceil(outside));
    });

    it('keeps exactly the first 4 KiB of a larger body', async () => {
      const result = expectOk(await listed.send(post(`${target.base}/big`)));
      expect(result.status).toBe(200);
      expect(result.body).toHaveLength(4096);
      expect(result.body).toBe(BIG_BODY.slice(0, 4096));
    });

    it('replaces NUL characters in the body, which no store can keep as text', async () => {
      const result = expectOk(await listed.send(post(`${target.base}/nul`)));
      expect(result).toMatchObject({ status: 500, body: 'bad\ufffdbyte' });
    });

    it('does not follow a redirect', async () => {
      const before = target.requests;
      const result = expectOk(await listed.send(post(`${target.base}/redirect`)));
      expect(result.status).toBe(302);
      expect(target.requests - before).toBe(1);
    });

    it('surfaces Retry-After and WWW-Authenticate', async () => {
      const busy = expectOk(await listed.send(post(`${target.base}/busy`)));
      expect(busy).toMatchObject({ status: 429, retryAfter: '120', body: 'slow down' });
      const expired = expectOk(await listed.send(post(`${target.base}/expired`)));
      expect(expired).toMatchObject({
        status: 401,
        wwwAuthenticate: 'Bearer error="invalid_token"',
        body: '[{"errorCode":"INVALID_SESSION_ID"}]',
      });
    });

    it('times out a listener that never answers', async () => {
      const started = performance.now();
      const result = expectFailure(await listed.send(post(`${target.base}/silent`, 300)));
      const outside = performance.now() - started;
      expect(result.failure).toBe('timeout');
      expect(result.message).toMatch(/300 ms/);
      expect(result.durationMs).toBeGreaterThanOrEqual(250);
      expect(result.durationMs).toBeLessThanOrEqual(Math.ceil(outside));
    });

    /**
     * One connection, taken by `/hold` until `release`; `queue` sends one request to wait for
     * it. Checks that only `/hold` and a later `/next` ever arrive, on that one connection.
     */
    async function withOneHeldConnection(
      queue: (outbound: Outbound, base: string, release: () => void) => Promise<void>,
    ): Promise<void> {
      let release = (): void => undefined;
      const seen: string[] = [];
      const slow = await startServer((req, res) => {
        seen.push(req.url ?? '');
        req.resume();
        if (req.url === '/hold') release = () => res.writeHead(200).end('late');
        else res.writeHead(200).end('OK');
      });
      const outbound = createOutbound({ policy: LOOPBACK_LISTED, connectionsPerOrigin: 1 });
      try {
        const holding = outbound.send(post(`${slow.base}/hold`, 5000));
        await until(() => seen.length === 1);
        await queue(outbound, slow.base, () => release());
        expectOk(await holding);
        // The connection is free again: the next request goes out, the queued one never.
        expectOk(await outbound.send(post(`${slow.base}/next`)));
        expect(seen).toEqual(['/hold', '/next']);
        // Dropping it cost no connection: /next went out on the one /hold used.
        expect(slow.connections).toBe(1);
      } finally {
        await outbound.close();
        await slow.close();
      }
    }

    it('never sends a request that timed out while it waited for a connection', async () => {
      await withOneHeldConnection(async (outbound, base, release) => {
        const queued = expectFailure(await outbound.send(post(`${base}/queued`, 200)));
        expect(queued.failure).toBe('timeout');
        release();
      });
    });

    it('drops unsent a queued request its sender no longer wants', async () => {
      await withOneHeldConnection(async (outbound, base, release) => {
        // Wanted when queued; no longer by the time the connection is free (its token refused).
        let wanted = true;
        const asked: boolean[] = [];
        const queued = outbound.send({
          ...post(`${base}/queued`, 5000),
          stillWanted: () => {
            asked.push(wanted);
            return wanted;
          },
        });
        wanted = false;
        release();
        const dropped = expectFailure(await queued);
        expect(dropped.failure).toBe('withdrawn');
        expect(asked).toEqual([false]);
      });
    });

    it('reports a refused connection', async () => {
      const closed = await startServer(routes);
      const port = closed.port;
      await closed.close();
      const result = expectFailure(await listed.send(post(`http://127.0.0.1:${port}/ok`)));
      expect(result.failure).toBe('connect_error');
      expect(result.message).toBe('connection refused');
    });

    it('reuses one keep-alive connection for sequential requests', async () => {
      const server = await startServer(routes);
      const outbound = createOutbound({ policy: LOOPBACK_LISTED });
      try {
        for (let i = 0; i < 50; i++) {
          expectOk(await outbound.send(post(`${server.base}/ok`)));
        }
        expectOk(await outbound.send(post(`${server.base}/big`))); // drained, still reusable
        expectOk(await outbound.send(post(`${server.base}/ok`)));
        expect(server.requests).toBe(52);
        expect(server.connections).toBe(1);
      } finally {
        await outbound.close();
        await server.close();
      }
    });

    it('drops the connection rather than draining a huge body, then pools again', async () => {
      const server = await startServer(routes);
      let closed = 0;
      server.server.on('connection', (socket) => socket.on('close', () => closed++));
      const outbound = createOutbound({ policy: LOOPBACK_LISTED });
      try {
        expectOk(await outbound.send(post(`${server.base}/ok`)));
        const huge = expectOk(await outbound.send(post(`${server.base}/huge`)));
        expect(huge.body).toBe(HUGE_BODY.slice(0, 4096));
        await until(() => closed >= 1);
        // undici may open a spare socket while the dropped one winds down; after that, one
        // connection serves everything again.
        for (let i = 0; i < 3; i++) expectOk(await outbound.send(post(`${server.base}/ok`)));
        const settled = server.connections;
        for (let i = 0; i < 20; i++) expectOk(await outbound.send(post(`${server.base}/ok`)));
        expect(server.connections).toBe(settled);
      } finally {
        await outbound.close();
        await server.close();
      }
    });

    it('blocks a loopback IP literal when private networks are not allowed', async () => {
      const before = target.connections;
      const result = expectFailure(await strict.send(post(`${target.base}/ok`)));
      expect(result.failure).toBe('destination_blocked');
      expect(result.message).toMatch(/127\.0\.0\.1 is a loopback address/);
      expect(target.connections).toBe(before);
    });

    it('blocks a name resolving to loopback through the lookup hook', async () => {
      const before = target.connections;
      for (const scheme of ['http', 'https']) {
        const url = `${scheme}://localhost:${target.port}/ok`;
        const result = expectFailure(await strict.send(post(url)));
        expect(result.failure).toBe('destination_blocked');
        expect(result.message).toMatch(/localhost resolves to 127\.0\.0\.1, a loopback address/);
      }
      expect(target.connections).toBe(before);
    });

    it('blocks IPv4-mapped loopback and the metadata address', async () => {
      const port = target.port;
      for (const url of [`http://[::ffff:127.0.0.1]:${port}/`, 'http://169.254.169.254/']) {
        const result = expectFailure(await strict.send(post(url)));
        expect(result.failure).toBe('destination_blocked');
      }
    });

    it('allows loopback by name and by address when allow-listed', async () => {
      expectOk(await listed.send(post(`http://localhost:${target.port}/ok`)));
      expectOk(await listed.send(post(`${target.base}/ok`)));
    });

    it('allows loopback when the guard is lifted', async () => {
      expectOk(await lifted.send(post(`http://localhost:${target.port}/ok`)));
    });

    it('refuses URLs it must not use without throwing', async () => {
      for (const url of ['not a url', 'ftp://127.0.0.1/', 'http://u:p@127.0.0.1/']) {
        expect(expectFailure(await listed.send(post(url))).failure).toBe('destination_blocked');
      }
    });
  });

  describe('fetch', () => {
    it('makes requests through the guard', async () => {
      const response = await listed.fetch(`${target.base}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        method: 'POST',
        type: 'application/x-www-form-urlencoded',
        body: 'grant_type=client_credentials',
      });
    });

    it('does not follow redirects', async () => {
      const before = target.requests;
      const response = await listed.fetch(`${target.base}/redirect`, { redirect: 'follow' });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe('/ok');
      await response.arrayBuffer();
      expect(target.requests - before).toBe(1);
    });

    it('accepts a Request object', async () => {
      const request = new Request(`${target.base}/echo`, { method: 'POST', body: 'x=1' });
      const response = await listed.fetch(request);
      expect(await response.json()).toMatchObject({ method: 'POST', body: 'x=1' });
    });

    it('refuses blocked destinations like a network error', async () => {
      for (const url of [`${target.base}/ok`, `http://localhost:${target.port}/ok`]) {
        const err: unknown = await strict.fetch(url).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(TypeError);
        expect(isDestinationBlocked(err)).toBe(true);
      }
    });

    it('gives up after its own timeout when the caller passes no signal', async () => {
      const outbound = createOutbound({ policy: LOOPBACK_LISTED, fetchTimeoutMs: 200 });
      try {
        const err: unknown = await outbound.fetch(`${target.base}/silent`).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((err as Error).name).toBe('TimeoutError');
      } finally {
        await outbound.close();
      }
    });

    it('does not queue behind deliveries to the same host', async () => {
      // A Salesforce org answers tokens and Apex REST callbacks on one host: with every
      // delivery connection taken and more deliveries waiting, a token request still goes out.
      const holding: Array<() => void> = [];
      const org = await startServer((req, res) => {
        req.resume();
        if (req.url === '/hold') holding.push(() => res.writeHead(200).end('held'));
        else res.writeHead(200).end('OK');
      });
      const outbound = createOutbound({ policy: LOOPBACK_LISTED, connectionsPerOrigin: 2 });
      try {
        let settled = 0;
        const deliveries = Array.from({ length: 4 }, () =>
          outbound.send(post(`${org.base}/hold`, 30_000)).finally(() => settled++),
        );
        await until(() => holding.length === 2);
        // Both delivery connections are held and two deliveries wait for one. Were the token
        // request queued behind them, it could not be answered before they are released
        // (the signal only keeps a broken build from hanging).
        const response = await outbound.fetch(`${org.base}/token`, {
          signal: AbortSignal.timeout(20_000),
        });
        expect(await response.text()).toBe('OK');
        expect(settled).toBe(0);
        expect(holding).toHaveLength(2);
        expect(org.connections).toBe(3);
        while (holding.length > 0) holding.shift()!();
        await until(() => holding.length === 2); // the two that waited go out now
        while (holding.length > 0) holding.shift()!();
        const results = await Promise.all(deliveries);
        expect(results.map((r) => expectOk(r).body)).toEqual(['held', 'held', 'held', 'held']);
      } finally {
        await outbound.close();
        await org.close();
      }
    });

    it('honours the caller’s signal', async () => {
      const err: unknown = await listed
        .fetch(`${target.base}/silent`, { signal: AbortSignal.timeout(200) })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((err as Error).name).toBe('TimeoutError');
    });
  });
});

describe('pinned addresses (a name is resolved once per connection, by the guard)', () => {
  // The listener answers on 127.0.0.3 only. `localhost` is resolved by the system's resolver
  // (through the lookup hook the net layer takes), and the hook answers 127.0.0.3 the first
  // time and the metadata address after that, as a name an attacker re-points would.
  const PINNED = '127.0.0.3';
  let server: Server;
  let port: number;
  const arrivals: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      arrivals.push(`${req.socket.localAddress} ${req.url}`);
      req.resume();
      // A new connection for every request: each one must be resolved and checked again.
      res.writeHead(200, { connection: 'close' }).end('OK');
    });
    await new Promise<void>((resolve) => server.listen(0, PINNED, resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  it('connects to the address it checked, without resolving again, and checks every new connection', async () => {
    const resolutions: Array<{ host: string; system: string[] }> = [];
    const lookupAll: LookupAll = (hostname, options, callback) =>
      dnsLookup(hostname, options, (err, addresses) => {
        if (err) return callback(err, []);
        resolutions.push({ host: hostname, system: addresses.map((a) => a.address) });
        const answer = resolutions.length === 1 ? PINNED : '169.254.169.254';
        callback(null, [{ address: answer, family: 4 }]);
      });
    const outbound = createOutbound({ policy: LOOPBACK_LISTED, lookupAll });
    try {
      expectOk(await outbound.send(post(`http://localhost:${port}/first`)));
      // Resolved once, for the connection, and that connection went to the address resolved
      // (nothing listens on the system's own answer for localhost at this port).
      expect(resolutions).toHaveLength(1);
      expect(resolutions[0]!.host).toBe('localhost');
      expect(resolutions[0]!.system.length).toBeGreaterThan(0);
      expect(arrivals).toEqual([`${PINNED} /first`]);

      // The next connection is resolved again, and the new answer is refused: nothing is sent.
      const second = expectFailure(await outbound.send(post(`http://localhost:${port}/second`)));
      expect(second.failure).toBe('destination_blocked');
      expect(second.message).toMatch(/localhost resolves to 169\.254\.169\.254/);
      expect(resolutions).toHaveLength(2);
      expect(arrivals).toEqual([`${PINNED} /first`]);
    } finally {
      await outbound.close();
    }
  });
});

describe('checkDestination', () => {
  async function codeOf(url: string, policy: NetworkPolicy): Promise<string | undefined> {
    try {
      await checkDestination(url, policy);
      return undefined;
    } catch (err) {
      if (err instanceof ValidationError) return err.code;
      throw err;
    }
  }

  it.each([
    ['ftp://example.com/', 'invalid_url'],
    ['http://user:pw@example.com', 'invalid_url'],
    ['http://169.254.169.254/', 'destination_not_allowed'],
    ['http://[::ffff:127.0.0.1]/', 'destination_not_allowed'],
    ['http://localhost/', 'destination_not_allowed'],
    ['https://127.0.0.1/', 'destination_not_allowed'],
  ])('refuses %s with %s', async (url, code) => {
    expect(await codeOf(url, STRICT)).toBe(code);
  });

  it('explains a loopback refusal', async () => {
    await expect(checkDestination('http://localhost:8080/', STRICT)).rejects.toThrow(
      /localhost resolves to 127\.0\.0\.1, a loopback address; start Herald with --allow-private-network/,
    );
  });

  it('accepts loopback when allowed', async () => {
    expect(await codeOf('http://localhost:8080/hook', LIFTED)).toBeUndefined();
    expect(await codeOf('http://127.0.0.1:8080/hook', LIFTED)).toBeUndefined();
    expect(await codeOf('http://127.0.0.1:8080/hook', LOOPBACK_LISTED)).toBeUndefined();
  });

  it('accepts a name that does not resolve (yet) over https, not over plain http', async () => {
    await expect(checkDestination('https://herald-test.invalid/', STRICT)).resolves.toBeUndefined();
    await expect(checkDestination('http://herald-test.invalid/', STRICT)).rejects.toThrow(
      /HERALD_ALLOW_PLAIN_HTTP/,
    );
  });
});
