// Herald's Salesforce-like sandbox in its own process, like the raw baseline's listener, so the
// OAuth scenarios do not share Herald's event loop with the server they deliver to. It counts
// distinct deliveries accepted by its Apex-like listener and forces token expiries at given
// points of a session. Started by sandbox.ts; not meant to be run by hand.

import { startSandbox } from '../../src/sandbox/index.js';
import { childArgument, serveRpc } from './rpc.js';
import type {
  SandboxApi,
  SandboxChildOptions,
  SandboxCounts,
  SandboxReady,
  SandboxSession,
} from './sandbox-protocol.js';

// The sandbox keeps every accepted callback in `received`; this loop folds them into counts and
// empties the array, so a long run does not grow the sandbox's memory.
const SCAN_EVERY_MS = 5;

const sandbox = await startSandbox({ ...childArgument<SandboxChildOptions>(), host: '127.0.0.1' });
const counters = sandbox.stats;

let session: SandboxSession = { expect: Infinity, expireAt: [] };
let seen = new Set<string>();
let accepted = 0;
let duplicates = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
let expiries = 0;
let pendingExpiries: number[] = [];
let base = { tokenRequests: 0, rejected401: 0, concurrentRefreshRejections: 0 };
let waiters: Array<() => void> = [];

function counts(): SandboxCounts {
  return {
    unique: seen.size,
    accepted,
    duplicates,
    firstAt,
    lastAt,
    expiries,
    tokenRequests: counters.tokenRequests - base.tokenRequests,
    rejected401: counters.listenerRejected401 - base.rejected401,
    concurrentRefreshRejections:
      counters.concurrentRefreshRejections - base.concurrentRefreshRejections,
    maxConcurrentTokenRequests: counters.maxConcurrentTokenRequests,
  };
}

function scan(): void {
  const batch = sandbox.received.splice(0);
  for (const callback of batch) {
    accepted++;
    const id = callback.headers['webhook-id'] ?? `anonymous-${accepted}`;
    if (seen.has(id)) {
      duplicates++;
      continue;
    }
    seen.add(id);
    firstAt ??= callback.at;
    lastAt = callback.at;
  }
  while (pendingExpiries.length > 0 && seen.size >= pendingExpiries[0]!) {
    pendingExpiries.shift();
    sandbox.expireAccessTokens();
    expiries++;
  }
  if (seen.size >= session.expect && waiters.length > 0) {
    for (const wake of waiters.splice(0)) wake();
  }
}
setInterval(scan, SCAN_EVERY_MS);

const api: SandboxApi = {
  issueRefreshToken: () => sandbox.issueRefreshToken(),
  reset(next) {
    scan();
    session = next;
    seen = new Set();
    accepted = 0;
    duplicates = 0;
    firstAt = null;
    lastAt = null;
    expiries = 0;
    pendingExpiries = [...next.expireAt].sort((a, b) => a - b);
    base = {
      tokenRequests: counters.tokenRequests,
      rejected401: counters.listenerRejected401,
      concurrentRefreshRejections: counters.concurrentRefreshRejections,
    };
    waiters = [];
  },
  stats: () => {
    scan();
    return counts();
  },
  waitDone(timeoutMs) {
    scan();
    if (seen.size >= session.expect) return Promise.resolve(counts());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `sandbox got ${seen.size} of ${session.expect} deliveries in ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      waiters.push(() => {
        clearTimeout(timer);
        resolve(counts());
      });
    });
  },
};

const ready: SandboxReady = { url: sandbox.url, clientId: sandbox.connectedApp.clientId };
serveRpc(api, ready);
