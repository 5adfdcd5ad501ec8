// What every console page gets: the services (the same ones the API calls), the signed-in
// session, and helpers to answer with a page, a redirect or a refusal.

import type { Context } from 'hono';
import { AuthError } from '../errors.js';
import type { AccountId } from '../domain/ids.js';
import type { Logger } from '../observability/logger.js';
import type { Services } from '../services/index.js';
import type { Assets } from './assets.js';
import type { CookieJar, Flash, Session, SignInLimiter } from './session.js';

export interface ConsoleDeps {
  readonly services: Services;
  readonly clock: () => number;
  readonly cookies: CookieJar;
  readonly limiter: SignInLimiter;
  readonly assets: Assets;
  readonly logger: Logger;
  readonly version: string;
  /** How long a sign-in lasts. */
  readonly sessionMs: number;
  /** HERALD_PUBLIC_URL, when set: the console's own URL is derived from it. */
  readonly publicUrl: string | null;
}

export interface ConsoleEnv {
  Variables: {
    session: Session;
    /** The message left by the previous request (after a redirect), shown once. */
    flash: Flash | undefined;
  };
}

export type ConsoleContext = Context<ConsoleEnv>;

/** The account the pages act for; an operator who has not picked one gets a 403 page. */
export function accountOf(c: ConsoleContext): AccountId {
  const id = c.get('session').accountId;
  if (!id)
    throw new AuthError(
      'forbidden',
      'Pick an account first (operator sessions act for one account at a time)',
    );
  return id;
}

export function isOperator(c: ConsoleContext): boolean {
  return c.get('session').principal === 'admin';
}

/** The console's base URL: HERALD_PUBLIC_URL's, or the origin this request came to. */
export function consoleBase(c: Context, publicUrl: string | null): string {
  return `${publicUrl ?? new URL(c.req.url).origin}/console`;
}

/** A redirect after a form (303, so the browser follows with GET), with a one-time message. */
export function seeOther(
  c: ConsoleContext,
  deps: ConsoleDeps,
  to: string,
  flash?: Flash,
): Response {
  if (flash) deps.cookies.flash(c, flash);
  return c.redirect(to, 303);
}
