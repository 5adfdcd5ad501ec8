// The listener: a minimal node:http server in its own process, on loopback, that answers every
// request 200 with an empty body and counts what it receives. The raw baseline and every Herald
// scenario send to this same server, so the listener's own cost is the same on both sides of a
// ratio. Started by listener.ts; not meant to be run by hand.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { wallNow } from './clock.js';
import type {
  ListenerApi,
  ListenerReady,
  ListenerSession,
  ListenerStats,
} from './listener-protocol.js';
import { serveRpc } from './rpc.js';

let session: ListenerSession = { expect: Infinity, key: 'id', latency: false };
let seen = new Set<string>();
let received = 0;
let duplicates = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
let connections = 0;
let headerNames: string[] = [];
let sentAt: number[] = [];
let arrivedAt: number[] = [];
let waiters: Array<() => void> = [];

function stats(): ListenerStats {
  return {
    received,
    unique: seen.size,
    duplicates,
    firstAt,
    lastAt,
    connections,
    headerNames,
    sentAt,
    arrivedAt,
  };
}

function record(req: IncomingMessage, body: string | null): void {
  const at = wallNow();
  received++;
  if (received === 1) headerNames = Object.keys(req.headers).sort();
  const id = String(req.headers['webhook-id'] ?? `anonymous-${received}`);
  const key = session.key === 'id' ? id : `${req.url ?? ''} ${id}`;
  if (seen.has(key)) {
    duplicates++;
    return;
  }
  seen.add(key);
  firstAt ??= at;
  lastAt = at;
  if (body !== null) {
    const sent = (JSON.parse(body) as { benchSentAt?: unknown }).benchSentAt;
    if (typeof sent === 'number') {
      sentAt.push(sent);
      arrivedAt.push(at);
    }
  }
  if (seen.size >= session.expect && waiters.length > 0) {
    for (const wake of waiters.splice(0)) wake();
  }
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const reply = (): void => {
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  };
  if (session.latency) {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      record(req, body);
      reply();
    });
  } else {
    req.on('end', () => {
      record(req, null);
      reply();
    });
    req.resume();
  }
}

const server = createServer({ keepAliveTimeout: 60_000 }, handle);
server.on('connection', () => connections++);

const api: ListenerApi = {
  reset(next) {
    session = next;
    seen = new Set();
    received = 0;
    duplicates = 0;
    firstAt = null;
    lastAt = null;
    connections = 0;
    headerNames = [];
    sentAt = [];
    arrivedAt = [];
    waiters = [];
  },
  stats,
  completes(timeoutMs) {
    if (seen.size >= session.expect) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  },
  async waitDone(timeoutMs) {
    if (!(await api.completes(timeoutMs))) {
      throw new Error(
        `listener got ${seen.size} of ${session.expect} deliveries in ${timeoutMs} ms`,
      );
    }
    return stats();
  },
};

server.listen(0, '127.0.0.1', () => {
  const ready: ListenerReady = { port: (server.address() as AddressInfo).port };
  serveRpc(api, ready);
});
