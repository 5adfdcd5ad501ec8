// Every outbound HTTP request Herald makes goes out on connections made by the SSRF guard: names
// are resolved and checked by the lookup hook on each new connection, IP literals are checked
// before dispatch. Webhook deliveries use Herald's own lean HTTP/1.1 client (h1/agent.ts: the
// busiest path of all); OAuth token requests use undici's fetch. The two keep separate pools: a
// Salesforce org often serves its token endpoint and its Apex REST listener from one host (My
// Domain), and a token refresh must not wait in line behind the deliveries queued for that host,
// which are waiting for the refresh.
// Redirects are never followed (SPEC §5: a 3xx is a failure, and following one would bypass the
// registration-time check of the URL).

import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { RequestInit as UndiciRequestInit } from 'undici';
import { allowedCidrs } from '../domain/addresses.js';
import type { NetworkPolicy } from '../domain/addresses.js';
import type { SendFailure } from './failures.js';
import { DeliveryAgent } from './h1/agent.js';
import { createSocketOpener } from './h1/sockets.js';
import { DestinationBlockedError, createGuardedLookup, type LookupAll } from './guard.js';
import { createPoolFactory } from './pools.js';
import { createTargetCache } from './targets.js';

export type { SendFailure } from './failures.js';

export interface OutboundOptions {
  readonly policy: NetworkPolicy;
  /** TCP (+ TLS) connection establishment limit; default 5000 (SPEC §5). */
  readonly connectTimeoutMs?: number;
  /** How much of a response body is kept for the attempt log; default 4096. */
  readonly maxResponseBytes?: number;
  /** How much more is read and discarded to keep the connection reusable; default 65536. */
  readonly maxDrainBytes?: number;
  /** Open connections per origin; default 128. */
  readonly connectionsPerOrigin?: number;
  /** Idle keep-alive time before a pooled socket is closed; default 4000 (less if a listener asks). */
  readonly keepAliveTimeoutMs?: number;
  /** `fetch`'s total timeout when the caller passes no signal; default 30000. */
  readonly fetchTimeoutMs?: number;
  /** Resolves names behind the SSRF guard instead of `dns.lookup` (tests watch and steer it). */
  readonly lookupAll?: LookupAll;
  /** Certificates trusted for deliveries over TLS instead of Node's (tests' own authority). */
  readonly ca?: string;
}

export interface SendRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Total budget: connect, send, response headers and body. */
  readonly timeoutMs: number;
  /** Asked right before the request is written; false drops it unsent (`withdrawn`). */
  readonly stillWanted?: (() => boolean) | undefined;
}

export type SendResult =
  | {
      readonly ok: true;
      readonly status: number;
      readonly retryAfter: string | undefined;
      readonly wwwAuthenticate: string | undefined;
      /** The first `maxResponseBytes` of the body, as UTF-8. */
      readonly body: string;
      readonly durationMs: number;
    }
  | {
      readonly ok: false;
      readonly failure: SendFailure;
      /** Short and safe to store: never headers, bodies or secrets. */
      readonly message: string;
      readonly durationMs: number;
    };

export interface Outbound {
  /** One delivery attempt. Never throws for network problems: they come back as `ok: false`. */
  send(request: SendRequest): Promise<SendResult>;
  /** A guarded, never-redirecting `fetch` for the OAuth client (its own connection pool). */
  readonly fetch: typeof globalThis.fetch;
  close(): Promise<void>;
}

/**
 * Token requests are single flight per credential, so this bounds how many credentials on one
 * token host refresh at once; the rest wait for a connection.
 */
const OAUTH_CONNECTIONS_PER_ORIGIN = 16;
/** Idle time before a pooled delivery connection is closed, unless the listener asks for less. */
const KEEP_ALIVE_MS = 4000;
/** The largest response head read (as Node's own HTTP parser). */
const MAX_HEADER_BYTES = 16 * 1024;

export function createOutbound(options: OutboundOptions): Outbound {
  const { policy } = options;
  allowedCidrs(policy); // a bad CIDR fails here, at start-up
  const connectTimeout = options.connectTimeoutMs ?? 5000;
  const maxResponseBytes = options.maxResponseBytes ?? 4096;
  const maxDrainBytes = options.maxDrainBytes ?? 65536;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 30_000;

  // Two connectors because plain HTTP is held to a stricter rule (allow-listed networks only),
  // and a lookup hook cannot see the scheme. With the guard lifted, Node's own lookup is used.
  const guarded = !policy.allowPrivateNetwork;
  const lookupAll = options.lookupAll;
  const httpsLookup = guarded ? createGuardedLookup(policy, { lookupAll }) : undefined;
  const httpLookup = guarded
    ? createGuardedLookup(policy, { plainHttp: true, lookupAll })
    : undefined;
  const httpsConnect = buildConnector({
    timeout: connectTimeout,
    ...(httpsLookup ? { lookup: httpsLookup } : {}),
  });
  const httpConnect = buildConnector({
    timeout: connectTimeout,
    ...(httpLookup ? { lookup: httpLookup } : {}),
  });
  const oauthAgent = new Agent({
    factory: createPoolFactory(),
    connect: (connectOptions, callback) =>
      (connectOptions.protocol === 'https:' ? httpsConnect : httpConnect)(connectOptions, callback),
    connections: OAUTH_CONNECTIONS_PER_ORIGIN,
    pipelining: 1,
    ...(options.keepAliveTimeoutMs === undefined
      ? {}
      : { keepAliveTimeout: options.keepAliveTimeoutMs }),
  });
  const open = createSocketOpener({ httpLookup, httpsLookup, ca: options.ca });
  const targets = createTargetCache(policy);
  const agent = new DeliveryAgent({
    connectionsPerOrigin: options.connectionsPerOrigin ?? 128,
    connectTimeoutMs: connectTimeout,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? KEEP_ALIVE_MS,
    maxHeaderBytes: MAX_HEADER_BYTES,
    limits: { keepBytes: maxResponseBytes, drainBytes: maxDrainBytes },
    open,
  });

  // Not async: an async function returning the exchange's promise would wrap it in one more,
  // at a few extra microtasks per delivery. Neither path throws.
  function send(request: SendRequest): Promise<SendResult> {
    const target = targets.get(request.url);
    if (target.refusal !== undefined) {
      return Promise.resolve({
        ok: false,
        failure: 'destination_blocked',
        message: target.refusal,
        durationMs: 0,
      });
    }
    return agent.send(target, request);
  }

  async function guardedFetch(
    input: Parameters<typeof globalThis.fetch>[0],
    init?: Parameters<typeof globalThis.fetch>[1],
  ): Promise<Response> {
    let url: string;
    let requestInit: RequestInit | undefined = init;
    if (typeof input === 'string') url = input;
    else if (input instanceof URL) url = input.href;
    else {
      url = input.url;
      requestInit = await requestToInit(input, init);
    }
    const target = targets.get(url);
    if (target.refusal !== undefined) {
      // The shape fetch itself uses for network errors, so callers need no special case.
      throw new TypeError('fetch failed', { cause: new DestinationBlockedError(target.refusal) });
    }
    const signal = requestInit?.signal ?? AbortSignal.timeout(fetchTimeoutMs);
    const response = await undiciFetch(url, {
      ...(requestInit as UndiciRequestInit | undefined),
      signal,
      dispatcher: oauthAgent,
      redirect: 'manual',
    });
    // undici's Response implements the same interface as the global one.
    return response as unknown as Response;
  }

  /**
   * A Request object flattened into init fields (one from Node's bundled fetch is not accepted by
   * undici's); explicit `init` fields win, as with fetch(request, init).
   */
  async function requestToInit(
    request: Request,
    init: RequestInit | undefined,
  ): Promise<RequestInit> {
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    return {
      method: request.method,
      headers: Array.from(request.headers),
      body: hasBody ? await request.arrayBuffer() : null,
      signal: AbortSignal.any([request.signal, AbortSignal.timeout(fetchTimeoutMs)]),
      ...init,
    };
  }

  let closing: Promise<void> | undefined;
  return {
    send,
    fetch: guardedFetch as typeof globalThis.fetch,
    close() {
      // Once: undici rejects a second close of its agent.
      closing ??= (async () => {
        targets.clear();
        agent.close();
        await oauthAgent.close();
      })();
      return closing;
    },
  };
}
