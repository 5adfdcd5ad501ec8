// The SSRF guard around names and URLs (SPEC §5): checked once when a callback URL is registered
// (`checkDestination`) and again on every new connection (`createGuardedLookup`), so a name that
// later resolves somewhere forbidden is still refused, and the socket connects to exactly the
// addresses that were checked.

import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { ValidationError } from '../errors.js';
import { inAllowedNetworks, parseIp, refusalReason, allowedCidrs } from '../domain/addresses.js';
import type { NetworkPolicy } from '../domain/addresses.js';

export const DESTINATION_BLOCKED = 'ERR_HERALD_DESTINATION_BLOCKED';

const HINT =
  'start Herald with --allow-private-network or add the network to HERALD_ALLOWED_NETWORKS';

/** Raised (through the lookup hook or before dispatch) when the guard refuses a destination. */
export class DestinationBlockedError extends Error {
  readonly code = DESTINATION_BLOCKED;
  override name = 'DestinationBlockedError';
}

/** The guard refusal in `err` or in the errors it wraps (fetch's "fetch failed" does), if any. */
export function findDestinationBlocked(err: unknown): Error | undefined {
  for (let depth = 0; depth < 5 && typeof err === 'object' && err !== null; depth++) {
    if ((err as { code?: unknown }).code === DESTINATION_BLOCKED && err instanceof Error)
      return err;
    err = (err as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isDestinationBlocked(err: unknown): boolean {
  return findDestinationBlocked(err) !== undefined;
}

/** Resolves a host name to all its addresses; injectable for tests. */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

/** Callback-style resolver with `dns.lookup`'s `all: true` shape; injectable for tests. */
export type LookupAll = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const defaultLookupAll: LookupAll = (hostname, options, callback) =>
  dnsLookup(hostname, options, callback);

const defaultResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    defaultLookupAll(hostname, { all: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

/** `[::1]` → `::1`: URL hosts keep IPv6 brackets, address parsing does not want them. */
export function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * The refusal message for connecting to `host` at `addresses`, or undefined when allowed.
 * `plainHttp`: the request would travel unencrypted, which the guard only allows where it is
 * lifted or towards allow-listed networks (SPEC §5).
 */
export function refuseAddresses(
  host: string,
  addresses: readonly string[],
  policy: NetworkPolicy,
  plainHttp: boolean,
): string | undefined {
  const literal = addresses.length === 1 && addresses[0] === host;
  for (const address of addresses) {
    const reason = refusalReason(address, policy);
    if (reason === undefined) continue;
    return literal
      ? `${host} is ${reason.description}; ${HINT}`
      : `${host} resolves to ${address}, ${reason.description}; ${HINT}`;
  }
  if (plainHttp && !plainHttpAllowed(policy)) {
    if (
      addresses.length === 0 ||
      !addresses.every((address) => inAllowedNetworks(address, policy))
    ) {
      return plainHttpRefusal(host);
    }
  }
  return undefined;
}

function plainHttpAllowed(policy: NetworkPolicy): boolean {
  return policy.allowPrivateNetwork || policy.allowPlainHttp === true;
}

function plainHttpRefusal(host: string): string {
  return `${host} must be reached over https://: plain http:// would carry keys and tokens in clear, so it is refused by default; set HERALD_ALLOW_PLAIN_HTTP=true to allow it to public addresses (or allow-list the network in HERALD_ALLOWED_NETWORKS)`;
}

/** Longer URLs than this are refused by many servers and proxies along the way. */
const MAX_URL_LENGTH = 2048;

/**
 * Registration-time check of a callback (or token endpoint) URL. Throws ValidationError:
 * `invalid_url` for a malformed URL, a scheme other than http/https or credentials in the URL;
 * `destination_not_allowed` when the guard refuses the destination (an IP literal or a name
 * resolving to a refused address, or plain http where it is not allowed). A name that does not
 * resolve is accepted.
 */
export async function checkDestination(
  url: string,
  policy: NetworkPolicy,
  resolve: Resolver = defaultResolver,
): Promise<void> {
  if (url.length > MAX_URL_LENGTH) {
    throw new ValidationError(
      'invalid_url',
      `The URL must be at most ${MAX_URL_LENGTH} characters`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError('invalid_url', 'The URL is not a valid absolute URL');
  }
  // The URL parser would drop line breaks and tabs silently: the URL stored would not be the one
  // called. Spaces belong percent-encoded.
  if (/[\u0000-\u0020\u007f]/.test(url)) {
    throw new ValidationError(
      'invalid_url',
      'The URL must not contain spaces, line breaks or control characters (percent-encode them)',
    );
  }
  if (parsed.port === '0') {
    throw new ValidationError('invalid_url', 'Port 0 cannot be connected to; give the real port');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ValidationError(
      'invalid_url',
      `The URL must start with https:// (or http:// where allowed), not ${parsed.protocol}//`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // Credentials in a URL end up in logs and Referer-like places; Herald has proper auth types.
    throw new ValidationError(
      'invalid_url',
      'The URL must not contain credentials (user:password@); configure authentication instead',
    );
  }
  const host = unbracket(parsed.hostname);
  // A name that does not resolve (yet) is accepted, as OneSpan and webhook services do: its
  // deliveries fail and retry like any network failure, and every connection is checked again
  // then. With no address known, only the plain-http rule can be applied now.
  const addresses: readonly string[] =
    parseIp(host) !== undefined
      ? [host]
      : await resolve(host).then(
          (resolved) => resolved.map((entry) => entry.address),
          () => [],
        );
  const refusal = refuseAddresses(host, addresses, policy, parsed.protocol === 'http:');
  if (refusal !== undefined) {
    throw new ValidationError('destination_not_allowed', `Destination not allowed: ${refusal}`);
  }
}

export interface GuardedLookupOptions {
  /** The connection will carry plain HTTP: also require allow-listed addresses. */
  readonly plainHttp?: boolean;
  /** Replaces `dns.lookup` (tests). */
  readonly lookupAll?: LookupAll;
}

/**
 * A `lookup` for `net.connect`/`tls.connect` (same contract as `dns.lookup`, honouring
 * `options.all`): resolves every address, refuses the connection with a
 * DestinationBlockedError if any is not allowed, and otherwise hands back only the addresses it
 * checked, so the socket cannot connect anywhere else (no DNS rebinding between check and use).
 * Node does not call `lookup` for IP-literal hosts: check those with `refuseAddresses` first.
 */
export function createGuardedLookup(
  policy: NetworkPolicy,
  options: GuardedLookupOptions = {},
): LookupFunction {
  allowedCidrs(policy); // fail at start-up, not on the first connection, on a bad CIDR
  const plainHttp = options.plainHttp === true;
  const lookupAll = options.lookupAll ?? defaultLookupAll;
  return (hostname, lookupOptions, callback) => {
    lookupAll(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '');
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, '');
        return;
      }
      const host = unbracket(hostname);
      const refusal = refuseAddresses(
        host,
        addresses.map((entry) => entry.address),
        policy,
        plainHttp,
      );
      if (refusal !== undefined) {
        callback(new DestinationBlockedError(refusal), '');
        return;
      }
      if (lookupOptions?.all === true) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}
