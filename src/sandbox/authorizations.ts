// Web-server-flow bookkeeping: authorization requests waiting for the user to log in and
// approve, and the authorization codes handed out on approval.
//
// The pending request lives on the server, referenced by an unguessable id in a hidden form
// field, so the login and consent forms cannot tamper with client_id, redirect_uri or the PKCE
// challenge. Codes are single-use and short-lived (Salesforce: 15 minutes).

import type { Grant, SandboxUser } from './state.js';
import { authorizationCode, handle } from './tokens.js';

const PENDING_TTL_MS = 15 * 60 * 1000;
const CODE_TTL_MS = 15 * 60 * 1000;

export interface PendingAuthorization {
  readonly id: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly state: string | undefined;
  readonly codeChallenge: string | undefined;
  readonly nonce: string | undefined;
  readonly loginHint: string | undefined;
  readonly createdAt: number;
  /** Set once the user has logged in; consent is only possible after that. */
  user: SandboxUser | undefined;
}

export interface AuthorizationCode {
  readonly grant: Grant;
  readonly redirectUri: string;
  readonly codeChallenge: string | undefined;
  readonly nonce: string | undefined;
  readonly expiresAt: number;
  used: boolean;
}

export class AuthorizationBook {
  private readonly pending = new Map<string, PendingAuthorization>();
  private readonly codes = new Map<string, AuthorizationCode>();

  constructor(private readonly now: () => number) {}

  begin(request: Omit<PendingAuthorization, 'id' | 'createdAt' | 'user'>): PendingAuthorization {
    const pending: PendingAuthorization = {
      ...request,
      id: handle(),
      createdAt: this.now(),
      user: undefined,
    };
    this.pending.set(pending.id, pending);
    return pending;
  }

  findPending(id: string): PendingAuthorization | undefined {
    const pending = this.pending.get(id);
    if (pending && this.now() - pending.createdAt > PENDING_TTL_MS) {
      this.pending.delete(id);
      return undefined;
    }
    return pending;
  }

  /** Consent ends a pending request whatever the answer, so the form cannot be replayed. */
  finish(id: string): void {
    this.pending.delete(id);
  }

  issueCode(grant: Grant, pending: PendingAuthorization): string {
    const code = authorizationCode();
    this.codes.set(code, {
      grant,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      nonce: pending.nonce,
      expiresAt: this.now() + CODE_TTL_MS,
      used: false,
    });
    return code;
  }

  findCode(code: string): AuthorizationCode | undefined {
    return this.codes.get(code);
  }

  isExpired(code: AuthorizationCode): boolean {
    return this.now() >= code.expiresAt;
  }
}
