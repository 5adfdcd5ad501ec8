// The org's memory: connected app, users, grants and their tokens, and the counters tests read.
//
// A grant is one approval of the connected app by a user (or one client-credentials login). It
// owns at most one current refresh token, the refresh tokens it rotated out (kept so a replay can
// be recognised and punished) and every access token minted from it. Revoking a grant kills all
// of them at once, which is what Salesforce does on revoke, on replay under rotation and when a
// sixth approval evicts the oldest.

import { AuthorizationBook } from './authorizations.js';
import { IdTokenSigner } from './id-token.js';
import * as tokens from './tokens.js';
import type { ReceivedCallback, SandboxOptions, SandboxStats } from './types.js';

export const ALLOWED_SCOPES = ['api', 'refresh_token', 'offline_access', 'openid', 'id'] as const;
export const DEFAULT_CALLBACK_URL = 'http://localhost:1717/OauthRedirect';
const TWO_HOURS_MS = 2 * 60 * 60 * 1000;

export interface ConnectedApp {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly callbackUrls: string[];
  readonly scopes: readonly string[];
  requirePkce: boolean;
  requireSecretForRefresh: boolean;
  requireSecretForWebServerFlow: boolean;
}

export interface SandboxUser {
  readonly username: string;
  readonly password: string;
  readonly userId: string;
  readonly displayName: string;
  readonly email: string;
}

export type GrantKind = 'web_server' | 'direct' | 'client_credentials';

export interface Grant {
  readonly id: string;
  readonly kind: GrantKind;
  readonly user: SandboxUser;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  alive: boolean;
  /** Current refresh token; undefined when the refresh scope was not granted. */
  refreshToken: string | undefined;
  readonly rotatedOut: Set<string>;
  readonly accessTokens: Set<string>;
}

export interface AccessTokenRecord {
  readonly token: string;
  readonly grant: Grant;
  readonly issuedAt: number;
  lastUsedAt: number;
  /** Revoked or force-expired; idle expiry is computed from lastUsedAt instead. */
  dead: boolean;
}

export interface Tunables {
  rotation: boolean;
  readonly accessTokenTtlMs: number;
  readonly concurrentRefresh: 'reject' | 'revoke';
  readonly tokenLatencyMs: number;
  readonly maxApprovalsPerUser: number;
  readonly listenerLatencyMs: number;
  clientCredentialsUser: SandboxUser | undefined;
}

export function hasRefreshScope(scopes: readonly string[]): boolean {
  return scopes.includes('refresh_token') || scopes.includes('offline_access');
}

function defaultUsers(): SandboxUser[] {
  return [
    {
      username: 'integrator@sandbox.herald.test',
      password: 'herald-sandbox',
      userId: tokens.recordId('005'),
      displayName: 'Herald Integrator',
      email: 'integrator@sandbox.herald.test',
    },
    {
      username: 'analyst@sandbox.herald.test',
      password: 'herald-sandbox-2',
      userId: tokens.recordId('005'),
      displayName: 'Sandbox Analyst',
      email: 'analyst@sandbox.herald.test',
    },
  ];
}

export class SandboxState {
  readonly orgId = tokens.recordId('00D');
  readonly app: ConnectedApp;
  readonly users = defaultUsers();
  readonly tunables: Tunables;
  readonly now: () => number;
  /**
   * Live counters, handed out as the sandbox's `stats`. `isGrantAlive` is non-enumerable so that
   * spreading or serialising the counters yields plain numbers only.
   */
  readonly counters: SandboxStats = Object.defineProperty(
    {
      tokenRequests: 0,
      byGrant: {},
      tokenErrors: {},
      maxConcurrentTokenRequests: 0,
      concurrentRefreshRejections: 0,
      rotatedOutTokenPresented: 0,
      grantsRevoked: 0,
      listenerAccepted: 0,
      listenerRejected401: 0,
    },
    'isGrantAlive',
    { value: (refreshToken: string) => this.isGrantAlive(refreshToken), enumerable: false },
  ) as SandboxStats;
  readonly received: ReceivedCallback[] = [];
  readonly authorizations: AuthorizationBook;
  readonly idTokens = new IdTokenSigner();
  /** Refresh tokens with a token request in progress (Salesforce serialises per token). */
  readonly refreshInProgress = new Set<string>();
  /** Where the sandbox is reachable; set once the socket listens. */
  baseUrl: string;
  /** While set, token answers wait for it (holdTokenAnswers). */
  tokenAnswersHeld: Promise<void> | null = null;

  // Maps keep insertion order, so iterating grants visits the oldest first.
  private readonly grants = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, Grant>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private grantSeq = 0;

  constructor(options: SandboxOptions, baseUrl: string) {
    this.baseUrl = baseUrl;
    this.now = options.now ?? Date.now;
    this.app = {
      clientId: options.clientId ?? tokens.consumerKey(),
      clientSecret: options.clientSecret ?? tokens.consumerSecret(),
      callbackUrls: [...(options.callbackUrls ?? [DEFAULT_CALLBACK_URL])],
      scopes: ALLOWED_SCOPES,
      requirePkce: options.requirePkce ?? true,
      requireSecretForRefresh: options.requireSecretForRefresh ?? false,
      requireSecretForWebServerFlow: options.requireSecretForWebServerFlow ?? false,
    };
    this.tunables = {
      rotation: options.rotation ?? true,
      accessTokenTtlMs: options.accessTokenTtlMs ?? TWO_HOURS_MS,
      concurrentRefresh: options.concurrentRefresh ?? 'reject',
      tokenLatencyMs: options.tokenLatencyMs ?? 0,
      maxApprovalsPerUser: options.maxApprovalsPerUser ?? 5,
      listenerLatencyMs: options.listenerLatencyMs ?? 0,
      clientCredentialsUser: undefined,
    };
    this.authorizations = new AuthorizationBook(this.now);
  }

  findUser(username: string): SandboxUser | undefined {
    return this.users.find((u) => u.username.toLowerCase() === username.toLowerCase());
  }

  identityUrl(user: SandboxUser): string {
    return `${this.baseUrl}/id/${this.orgId}/${user.userId}`;
  }

  /**
   * Record a user's approval of the app. Approvals are limited per (user, app): the one that
   * goes over the limit silently revokes the oldest, as Salesforce does.
   */
  approve(user: SandboxUser, scopes: readonly string[], kind: 'web_server' | 'direct'): Grant {
    const grant = this.addGrant(user, scopes, kind);
    const approvals = [...this.grants.values()].filter(
      (g) => g.alive && g.kind !== 'client_credentials' && g.user === user,
    );
    for (const oldest of approvals.slice(0, Math.max(0, approvals.length - this.maxApprovals()))) {
      this.revokeGrant(oldest);
    }
    return grant;
  }

  /** A client-credentials login: a grant of its own, never counted as an approval. */
  clientCredentialsGrant(user: SandboxUser, scopes: readonly string[]): Grant {
    return this.addGrant(user, scopes, 'client_credentials');
  }

  findRefreshToken(token: string): { grant: Grant; rotatedOut: boolean } | undefined {
    const grant = this.refreshTokens.get(token);
    return grant && { grant, rotatedOut: grant.refreshToken !== token };
  }

  /** Replace the grant's refresh token; the old one stays known as rotated out. */
  rotateRefreshToken(grant: Grant): string {
    if (grant.refreshToken) grant.rotatedOut.add(grant.refreshToken);
    const next = tokens.refreshToken();
    grant.refreshToken = next;
    this.refreshTokens.set(next, grant);
    return next;
  }

  issueAccessToken(grant: Grant): AccessTokenRecord {
    const now = this.now();
    const record: AccessTokenRecord = {
      token: tokens.accessToken(this.orgId),
      grant,
      issuedAt: now,
      lastUsedAt: now,
      dead: false,
    };
    this.accessTokens.set(record.token, record);
    grant.accessTokens.add(record.token);
    return record;
  }

  /** The access token if it is still a valid session: not revoked, expired or idle too long. */
  liveAccessToken(token: string): AccessTokenRecord | undefined {
    const record = this.accessTokens.get(token);
    if (!record || record.dead || !record.grant.alive) return undefined;
    if (this.now() >= this.accessTokenExpiresAt(record)) return undefined;
    return record;
  }

  accessTokenExpiresAt(record: AccessTokenRecord): number {
    return record.lastUsedAt + this.tunables.accessTokenTtlMs;
  }

  /** An API call resets the session's idle timer. */
  touch(record: AccessTokenRecord): void {
    record.lastUsedAt = this.now();
  }

  revokeAccessToken(record: AccessTokenRecord): void {
    record.dead = true;
  }

  revokeGrant(grant: Grant): void {
    if (!grant.alive) return;
    grant.alive = false;
    for (const token of grant.accessTokens) {
      const record = this.accessTokens.get(token);
      if (record) record.dead = true;
    }
    this.counters.grantsRevoked++;
  }

  revokeAllGrants(): void {
    for (const grant of this.grants.values()) this.revokeGrant(grant);
  }

  expireAccessTokens(): void {
    for (const record of this.accessTokens.values()) record.dead = true;
  }

  holdTokenAnswers(): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    this.tokenAnswersHeld = held;
    return () => {
      if (this.tokenAnswersHeld === held) this.tokenAnswersHeld = null;
      release();
    };
  }

  isGrantAlive(refreshToken: string): boolean {
    return this.refreshTokens.get(refreshToken)?.alive ?? false;
  }

  listGrants(): readonly Grant[] {
    return [...this.grants.values()];
  }

  private maxApprovals(): number {
    return Math.max(1, this.tunables.maxApprovalsPerUser);
  }

  private addGrant(user: SandboxUser, scopes: readonly string[], kind: GrantKind): Grant {
    const grant: Grant = {
      id: `grant_${++this.grantSeq}`,
      kind,
      user,
      scopes: [...scopes],
      createdAt: this.now(),
      alive: true,
      refreshToken: undefined,
      rotatedOut: new Set(),
      accessTokens: new Set(),
    };
    this.grants.set(grant.id, grant);
    if (kind !== 'client_credentials' && hasRefreshScope(scopes)) {
      grant.refreshToken = tokens.refreshToken();
      this.refreshTokens.set(grant.refreshToken, grant);
    }
    return grant;
  }
}
