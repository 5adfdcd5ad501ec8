// Parsing a destination URL once and checking what can be checked without DNS. Deliveries go to
// the same few thousand URLs over and over, so the result is cached per URL string.

import { parseIp } from '../domain/addresses.js';
import type { NetworkPolicy } from '../domain/addresses.js';
import type { Destination } from './h1/agent.js';
import { refuseAddresses, unbracket } from './guard.js';

export interface Target extends Destination {
  /** Set when the URL must not be used; the message is safe to log and show. */
  readonly refusal: string | undefined;
}

const MAX_CACHED = 4096;

function refused(message: string): Target {
  return { origin: '', tls: false, hostname: '', port: 0, host: '', path: '', refusal: message };
}

function resolveTarget(url: string, policy: NetworkPolicy): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refused('the URL is not valid');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return refused(`the URL scheme ${parsed.protocol} is not allowed`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return refused('the URL contains credentials');
  }
  const host = unbracket(parsed.hostname);
  // Node never calls the lookup hook for an IP literal, so literals are checked here instead.
  const refusal =
    parseIp(host) === undefined
      ? undefined
      : refuseAddresses(host, [host], policy, parsed.protocol === 'http:');
  const tls = parsed.protocol === 'https:';
  return {
    origin: parsed.origin,
    tls,
    hostname: host,
    port: parsed.port === '' ? (tls ? 443 : 80) : Number(parsed.port),
    host: parsed.host,
    // The fragment is never sent.
    path: parsed.pathname + parsed.search,
    refusal,
  };
}

/** A bounded URL → Target cache for one policy. */
export function createTargetCache(policy: NetworkPolicy): {
  get(url: string): Target;
  clear(): void;
} {
  const cache = new Map<string, Target>();
  return {
    get(url) {
      let target = cache.get(url);
      if (target === undefined) {
        target = resolveTarget(url, policy);
        if (cache.size >= MAX_CACHED) {
          // Oldest first: Map iterates in insertion order. Good enough for a working set this size.
          const oldest = cache.keys().next();
          if (oldest.done !== true) cache.delete(oldest.value);
        }
        cache.set(url, target);
      }
      return target;
    },
    clear() {
      cache.clear();
    },
  };
}
