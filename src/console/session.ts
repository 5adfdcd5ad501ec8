// Console sessions without server-side state, so that any number of API processes serve them:
// the session is a cookie sealed (AES-256-GCM) with a key derived from the master key. It holds
// the SHA-256 of the API key signed in with, never the key, and is checked against the keys on
// every request, so revoking a key ends its sessions. The cookie is HttpOnly, SameSite=Strict,
// Secure behind https, and expires with the session. Each session has its own CSRF token, which
// every state-changing request must send back (a form field, or a header for htmx).
//
// The Web Server flow comes back from the authorization server as a cross-site navigation, on
// which a SameSite=Strict cookie is not sent: the flow's state and PKCE verifier travel in a
// second, short-lived SameSite=Lax cookie, sealed the same way and bound to the session's id.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ValidationError } from '../errors.js';
import type { AccountId } from '../domain/ids.js';
import type { SecretBox } from '../services/secret-box.js';
import type { PendingConnect } from '../services/web-connect.js';

export const SESSION_COOKIE = 'herald_session';
export const FLOW_COOKIE = 'herald_oauth_flow';
export const FLASH_COOKIE = 'herald_flash';
export const CONSOLE_PATH = '/console';
/** Where the flow cookie is sent: the callback and the page that finishes the flow. */
export const FLOW_PATH = `${CONSOLE_PATH}/oauth`;
export const FLOW_LIFETIME_MS = 10 * 60_000;
/** What a cookie's value may take, leaving room for its name and attributes within 4 KiB. */
const MAX_COOKIE_BYTES = 3800;

export interface Session {
  /** Random id of this sign-in: what the flow cookie is bound to. */
  readonly sid: string;
  readonly principal: 'account' | 'admin';
  /** SHA-256 (hex) of the API key signed in with. */
  readonly keyHash: string;
  /** The account the pages act for: the key's own, or the one an operator picked (or none yet). */
  readonly accountId: AccountId | null;
  readonly csrf: string;
  /** Expiry (ms since the epoch). */
  readonly exp: number;
}

/** A Web Server flow begun from the console, between the redirect out and the way back. */
export interface FlowCookie extends PendingConnect {
  /** The session that began it: only that session may finish it. */
  readonly sid: string;
  readonly exp: number;
  /** The query the authorization server came back with, once it has. */
  readonly redirect?: string;
}

export interface Flash {
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Seals and opens the console's cookies; anything that does not open is no cookie at all. */
export class CookieJar {
  constructor(
    private readonly box: SecretBox,
    private readonly secure: boolean,
    private readonly clock: () => number,
  ) {}

  private read<T extends object>(c: Context, name: string, purpose: string): T | undefined {
    const sealed = getCookie(c, name);
    if (!sealed) return undefined;
    try {
      const value = JSON.parse(this.box.open(sealed)) as { purpose?: string; data?: T };
      return value.purpose === purpose ? value.data : undefined;
    } catch {
      return undefined;
    }
  }

  private write(
    c: Context,
    name: string,
    purpose: string,
    data: object,
    options: { path: string; sameSite: 'Strict' | 'Lax'; maxAgeMs: number },
  ): void {
    const sealed = this.box.seal(JSON.stringify({ purpose, data }));
    // Browsers drop a cookie over 4 KiB without a word: refuse instead.
    if (sealed.length > MAX_COOKIE_BYTES) {
      throw new ValidationError(
        'validation_failed',
        'These settings are too long to carry through the login; create the endpoint without Connect, then connect it from its page',
      );
    }
    setCookie(c, name, sealed, {
      path: options.path,
      httpOnly: true,
      secure: this.secure,
      sameSite: options.sameSite,
      maxAge: Math.max(1, Math.floor(options.maxAgeMs / 1000)),
    });
  }

  /** The session of the request if it opens and has not expired; expiry is reported apart. */
  session(c: Context): { session: Session } | { expired: boolean } {
    const session = this.read<Session>(c, SESSION_COOKIE, 'session');
    if (!session) return { expired: false };
    if (!(session.exp > this.clock())) return { expired: true };
    return { session };
  }

  startSession(c: Context, session: Omit<Session, 'exp' | 'csrf' | 'sid'>, lifetimeMs: number) {
    const full: Session = {
      ...session,
      sid: randomToken(),
      csrf: randomToken(),
      exp: this.clock() + lifetimeMs,
    };
    this.saveSession(c, full);
    return full;
  }

  /** Writes the session back (after picking an account), keeping its expiry. */
  saveSession(c: Context, session: Session): void {
    this.write(c, SESSION_COOKIE, 'session', session, {
      path: CONSOLE_PATH,
      sameSite: 'Strict',
      maxAgeMs: session.exp - this.clock(),
    });
  }

  endSession(c: Context): void {
    deleteCookie(c, SESSION_COOKIE, { path: CONSOLE_PATH, secure: this.secure });
    deleteCookie(c, FLOW_COOKIE, { path: FLOW_PATH, secure: this.secure });
  }

  flow(c: Context): FlowCookie | undefined {
    const flow = this.read<FlowCookie>(c, FLOW_COOKIE, 'flow');
    return flow && flow.exp > this.clock() ? flow : undefined;
  }

  saveFlow(c: Context, flow: FlowCookie): void {
    this.write(c, FLOW_COOKIE, 'flow', flow, {
      path: FLOW_PATH,
      sameSite: 'Lax',
      maxAgeMs: flow.exp - this.clock(),
    });
  }

  endFlow(c: Context): void {
    deleteCookie(c, FLOW_COOKIE, { path: FLOW_PATH, secure: this.secure });
  }

  /** A one-time message for the next page (after a redirect). Never carries a secret. */
  flash(c: Context, flash: Flash): void {
    this.write(c, FLASH_COOKIE, 'flash', flash, {
      path: CONSOLE_PATH,
      sameSite: 'Strict',
      maxAgeMs: 60_000,
    });
  }

  takeFlash(c: Context): Flash | undefined {
    const flash = this.read<Flash>(c, FLASH_COOKIE, 'flash');
    if (getCookie(c, FLASH_COOKIE) !== undefined) {
      deleteCookie(c, FLASH_COOKIE, { path: CONSOLE_PATH, secure: this.secure });
    }
    return flash;
  }
}

/**
 * Sign-in attempts per client address: a few wrong keys are typos, many are a guess. Kept in
 * memory (per process): it slows guessing down, the keys' 192 bits of randomness do the rest.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: () => number,
    private readonly maxFailures = 5,
    private readonly windowMs = 60_000,
  ) {}

  private recent(client: string): number[] {
    const now = this.clock();
    const list = (this.failures.get(client) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.failures.delete(client);
    else this.failures.set(client, list);
    return list;
  }

  /** Seconds to wait before the next try, or 0 when a try is allowed now. */
  waitSeconds(client: string): number {
    const list = this.recent(client);
    if (list.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - this.clock()) / 1000));
  }

  failed(client: string): void {
    if (this.failures.size > 10_000) this.failures.clear();
    this.failures.set(client, [...this.recent(client), this.clock()]);
  }

  succeeded(client: string): void {
    this.failures.delete(client);
  }
}
