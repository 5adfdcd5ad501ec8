// When a listener refuses the bearer token: the one place a delivery handles it.
//
//   send with token g ── 401 INVALID_SESSION_ID / Bearer error="invalid_token" (domain/outcome.ts)
//        │            └─ or withdrawn unsent: token g was refused while it waited for a connection
//        ▼
//   tokens.tokenRejected(g): adopt a newer generation, or refresh once (oauth/token-manager.ts)
//        │ dead or unavailable ──▶ the delivery fails as an auth failure would
//        ▼
//   resend once with the newer token; the pair counts as one attempt, a second 401 is an
//   ordinary failure
//
// A bearer request carries a predicate the transport asks right before writing it (`stillWanted`,
// net/exchange.ts): false when a listener refused its token meanwhile, and the request is dropped
// unsent (`withdrawn`) rather than refused again. Basic keys and no auth carry none.

import { classifyError, classifyResponse, type Outcome } from '../domain/outcome.js';
import type { Endpoint } from '../domain/endpoint.js';
import type { SendResult } from '../net/outbound.js';
import type { Authorization, TokenSource } from './credentials.js';

/** One request sent (or withdrawn), and what its answer means. */
export interface Sent {
  readonly response: SendResult;
  readonly outcome: Outcome;
  /** The Authorization header the request carried: kept out of the stored answer. */
  readonly authorization: string | undefined;
}

/** What one attempt's request (and its resend after a refused token) came to. */
export type Exchange =
  | { readonly ok: true; readonly sent: Sent; readonly refreshed: boolean }
  | { readonly ok: false; readonly auth: Authorization & { ok: false } };

/** A request dropped unsent because its token was refused meanwhile: recovered as a 401 is. */
const TOKEN_REFUSED_UNSENT: Outcome = { kind: 'token_rejected' };

/** A resend whose newer token was refused too while it waited for a connection. */
const RESEND_WITHDRAWN: Authorization & { ok: false } = {
  ok: false,
  kind: 'transient',
  message:
    'the bearer token was replaced twice before the request could be written; nothing was sent',
  retryInMs: 0,
};

/** What one send's answer means; a request withdrawn unsent is a refused token. */
export function outcomeOf(response: SendResult, bearer: boolean): Outcome {
  return response.ok
    ? classifyResponse(response, bearer)
    : response.failure === 'withdrawn'
      ? TOKEN_REFUSED_UNSENT
      : classifyError(response.failure);
}

export class BearerRecovery {
  constructor(private readonly tokens: TokenSource) {}

  /**
   * The transport's hook for a request with `auth`: a bearer token a listener refused while the
   * request waited for a connection would only be refused again. Undefined without a bearer.
   */
  stillWanted(endpoint: Endpoint, auth: Authorization & { ok: true }): (() => boolean) | undefined {
    return auth.bearer ? () => !this.tokens.refused(endpoint, auth.generation) : undefined;
  }

  /**
   * The listener refused `first` (or it was withdrawn): gets a newer token (adopted or refreshed
   * once) and resends once with `sendWith`.
   */
  async resend(
    endpoint: Endpoint,
    first: Authorization & { ok: true },
    firstSent: Sent,
    sendWith: (auth: Authorization & { ok: true }) => Promise<Sent>,
  ): Promise<Exchange> {
    const auth = await this.tokens.tokenRejected(endpoint, first.generation);
    if (!auth.ok) return { ok: false, auth };
    let sent = await sendWith(auth);
    if (sent.outcome === TOKEN_REFUSED_UNSENT) {
      // The newer token was refused too before this request was written. If neither request
      // reached the listener, no attempt is spent: given back, to go with the newest token.
      // If the first did (a 401), that answer is the attempt.
      if (firstSent.outcome === TOKEN_REFUSED_UNSENT) return { ok: false, auth: RESEND_WITHDRAWN };
      sent = firstSent;
    }
    if (sent.outcome.kind === 'token_rejected') {
      sent = {
        response: sent.response,
        outcome: { kind: 'retry', failure: 'http_error', slowDown: false, retryAfter: undefined },
        authorization: sent.authorization,
      };
    }
    return { ok: true, sent, refreshed: true };
  }
}
