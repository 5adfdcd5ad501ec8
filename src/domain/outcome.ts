// What a listener's answer (or the lack of one) means. Pure and table-tested.

export type FailureKind =
  | 'http_error' // a non-2xx, non-3xx status
  | 'redirect' // 3xx: redirects are never followed
  | 'timeout'
  | 'connect_error' // refused, reset, DNS failure, TLS failure
  | 'destination_blocked'; // the SSRF guard refused the address

export type Outcome =
  | { readonly kind: 'success' }
  /** Retry per schedule. `slowDown` asks for the 429/503/timeout floor. */
  | {
      readonly kind: 'retry';
      readonly failure: FailureKind;
      readonly slowDown: boolean;
      readonly retryAfter: string | undefined;
    }
  /** 410 Gone: the listener asks to be disabled. */
  | { readonly kind: 'gone' }
  /** The access token was refused in a way a fresh token can fix (refresh once, resend once). */
  | { readonly kind: 'token_rejected' };

/** The name an outcome is logged and counted under: the failure kind for a retry. */
export function outcomeName(outcome: Outcome): string {
  return outcome.kind === 'retry' ? outcome.failure : outcome.kind;
}

export interface ResponseFacts {
  readonly status: number;
  readonly retryAfter?: string | undefined;
  /** RFC 6750 `WWW-Authenticate`, when present. */
  readonly wwwAuthenticate?: string | undefined;
  /** The start of the body (capped), for recognising Salesforce's INVALID_SESSION_ID. */
  readonly body?: string | undefined;
}

/** Salesforce messages for 401s that a new token cannot fix. */
const UNFIXABLE_401 = [/scope/i, /not valid for use with the REST API/i];

/**
 * Whether a 401 says the access token is expired or invalid, so that one refresh and one resend
 * may fix it: Salesforce's INVALID_SESSION_ID body (unless its message names a scope or API
 * restriction) or `WWW-Authenticate: Bearer error="invalid_token"`.
 */
export function isTokenRejection(facts: ResponseFacts): boolean {
  if (facts.status !== 401) return false;
  if (facts.wwwAuthenticate && /error="?invalid_token"?/i.test(facts.wwwAuthenticate)) return true;
  const body = facts.body ?? '';
  if (!body.includes('INVALID_SESSION_ID')) return false;
  let messages: string[] = [];
  try {
    const parsed: unknown = JSON.parse(body);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    messages = list
      .filter((e): e is { message?: unknown } => typeof e === 'object' && e !== null)
      .map((e) => (typeof e.message === 'string' ? e.message : ''));
  } catch {
    messages = [body];
  }
  return !messages.some((m) => UNFIXABLE_401.some((re) => re.test(m)));
}

export function classifyResponse(facts: ResponseFacts, bearer: boolean): Outcome {
  const { status } = facts;
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (status === 410) return { kind: 'gone' };
  if (bearer && isTokenRejection(facts)) return { kind: 'token_rejected' };
  const redirect = status >= 300 && status < 400;
  return {
    kind: 'retry',
    failure: redirect ? 'redirect' : 'http_error',
    slowDown: status === 429 || status === 503,
    retryAfter: facts.retryAfter,
  };
}

export function classifyError(failure: Exclude<FailureKind, 'http_error' | 'redirect'>): Outcome {
  return { kind: 'retry', failure, slowDown: failure === 'timeout', retryAfter: undefined };
}
