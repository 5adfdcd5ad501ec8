// Types shared by the routes: the Hono environment and the authenticated account.

import type { Tracer } from '../observability/tracing.js';
import type { Context } from 'hono';
import { AuthError } from '../errors.js';
import type { AccountId } from '../domain/ids.js';
import type { Principal } from '../services/accounts.js';
import type { Services } from '../services/index.js';

export interface AppEnv {
  Variables: {
    principal: Principal;
  };
}

export interface RouteDeps {
  readonly services: Services;
  /** How long a publish body may take to arrive once admitted (plus an allowance per MiB). */
  readonly bodyTimeoutMs: number;
  /** Traces (NO_TRACING when off). */
  readonly tracer: Tracer;
}

/** The account of the caller; the admin key does not act as an account. */
export function accountOf(c: Context<AppEnv>): AccountId {
  const principal = c.get('principal');
  if (principal.kind !== 'account') {
    throw new AuthError(
      'forbidden',
      'The admin key manages accounts; use an account API key for this',
    );
  }
  return principal.accountId;
}

export function requireAdmin(c: Context<AppEnv>): void {
  if (c.get('principal').kind !== 'admin') {
    throw new AuthError('forbidden', 'This needs the operator key (HERALD_ADMIN_KEY)');
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
