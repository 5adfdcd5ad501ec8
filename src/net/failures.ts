// Turning whatever the delivery client (h1/), undici, node:net or node:tls threw into the four failure kinds the delivery
// engine understands, with a short message that is safe for the attempt log (no headers, no
// request body, no credentials: only codes and fixed phrases, or the library's own message).

import { findDestinationBlocked } from './guard.js';

/** `withdrawn`: never sent, because the caller no longer wanted it (AgentRequest.stillWanted). */
export type SendFailure = 'timeout' | 'connect_error' | 'destination_blocked' | 'withdrawn';

const TIMEOUT_CODES = new Set([
  'ERR_HERALD_CONNECT_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

const PHRASES: Readonly<Record<string, string>> = {
  ERR_HERALD_CONNECT_TIMEOUT: 'connection not established in time',
  ERR_HERALD_SOCKET_CLOSED: 'the listener closed the connection',
  ERR_HERALD_ANSWER_CUT: 'the listener closed the connection before the end of its answer',
  ERR_HERALD_CLOSED: 'not sent: Herald is shutting down',
  ERR_HERALD_SHUT_DOWN: 'Herald shut down before the answer came',
  HPE_LF_EXPECTED: 'the listener answered with lines not ended by CRLF',
  HPE_INVALID_STATUS: 'the listener answered with an invalid status code',
  HPE_HEADER_OVERFLOW: 'the listener answered with headers too large to read',
  HPE_INVALID_HEADER_TOKEN: 'the listener answered with a header that is not valid HTTP',
  HPE_INVALID_CONTENT_LENGTH: 'the listener answered with an invalid Content-Length',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'the listener answered with both Content-Length and chunking',
  HPE_INVALID_CHUNK_SIZE: 'the listener answered with a broken chunked body',
  UND_ERR_CONNECT_TIMEOUT: 'connection not established in time',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'response body not received in time',
  ETIMEDOUT: 'connection timed out',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the listener',
  EPIPE: 'connection closed by the listener while sending',
  UND_ERR_SOCKET: 'the listener closed the connection',
  ENOTFOUND: 'the host name does not resolve',
  ENODATA: 'the host name has no address',
  EAI_AGAIN: 'temporary DNS failure',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain contains a self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS certificate issuer is unknown',
  HPE_INVALID_CONSTANT: 'the listener did not answer with valid HTTP',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'response body shorter than its Content-Length',
};

const MAX_MESSAGE = 300;

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // node:net's happy-eyeballs connect reports an AggregateError of per-address failures.
  const errors = (err as { errors?: unknown }).errors;
  return Array.isArray(errors) ? codeOf(errors[0]) : undefined;
}

export interface ClassifiedFailure {
  readonly failure: SendFailure;
  readonly message: string;
}

/** `timedOut`: our own total-timeout timer fired (the error is then just the abort reason). */
export function classifyFailure(
  err: unknown,
  timedOut: boolean,
  timeoutMs: number,
): ClassifiedFailure {
  if (timedOut) {
    return { failure: 'timeout', message: `no complete response within ${timeoutMs} ms` };
  }
  const blocked = findDestinationBlocked(err);
  if (blocked !== undefined) {
    return { failure: 'destination_blocked', message: truncate(messageOf(blocked)) };
  }
  const code = codeOf(err);
  const phrase = code === undefined ? undefined : PHRASES[code];
  const message = phrase ?? truncate(code ? `${messageOf(err)} (${code})` : messageOf(err));
  const failure = code !== undefined && TIMEOUT_CODES.has(code) ? 'timeout' : 'connect_error';
  return { failure, message };
}

function messageOf(err: unknown): string {
  // For the guard's error this is its own explanation, written to be shown.
  const message = err instanceof Error ? err.message : String(err);
  return message === '' ? 'network error' : message;
}

function truncate(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}
