// Public shapes of the sandbox: its options, its live counters and what its Apex-like listener
// received. Kept apart from the implementation so that tests and `herald demo` can import the
// types without pulling in the server.

import type { Hono } from 'hono';

export interface SandboxOptions {
  /** Refresh token rotation (Salesforce is making it mandatory). Default true. */
  rotation?: boolean;
  /**
   * Access-token lifetime, measured from last use like Salesforce's idle session timeout.
   * Default 2 h. Expiry is only ever reported as a 401 by the listener: token responses carry
   * no `expires_in`.
   */
  accessTokenTtlMs?: number;
  /**
   * A second refresh with the same refresh token while one is in progress: `reject` answers
   * `token request is already being processed` (default); `revoke` answers the same and also
   * revokes the whole grant, the harshest reading of Salesforce's behaviour.
   */
  concurrentRefresh?: 'reject' | 'revoke';
  /** Artificial processing time of each token request, so concurrency windows are real. */
  tokenLatencyMs?: number;
  /** The connected app's "Require Secret for Refresh Token Flow". Default false. */
  requireSecretForRefresh?: boolean;
  /** The connected app's "Require Secret for Web Server Flow". Default false (PKCE suffices). */
  requireSecretForWebServerFlow?: boolean;
  /** The connected app's "Require PKCE". Default true. */
  requirePkce?: boolean;
  /** Approvals (grants) one user keeps per app; one more evicts the oldest. Default 5. */
  maxApprovalsPerUser?: number;
  /** Processing time of the Apex listener. Default 0. */
  listenerLatencyMs?: number;
  /** Fixed consumer key; random (`3MVG9…`) by default. */
  clientId?: string;
  /** Fixed consumer secret; random by default. */
  clientSecret?: string;
  /** Registered callback URLs; default `http://localhost:1717/OauthRedirect`. */
  callbackUrls?: string[];
  /** Injected clock (ms since epoch) so tests can age tokens and codes without waiting. */
  now?: () => number;
}

export interface ReceivedCallback {
  /** Full request path, e.g. `/services/apexrest/herald/events`. */
  readonly path: string;
  /** Request headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly accessToken: string;
  /** The user the access token belongs to (the Apex method runs as this user). */
  readonly username: string;
  /** When the listener accepted it, ms since epoch. */
  readonly at: number;
}

export interface SandboxStats {
  tokenRequests: number;
  /** Token requests by `grant_type` as sent (`(missing)` when absent). */
  byGrant: Record<string, number>;
  /** Token-endpoint error answers by `error` code (e.g. `invalid_grant`). */
  tokenErrors: Record<string, number>;
  maxConcurrentTokenRequests: number;
  concurrentRefreshRejections: number;
  /** Times a refresh token that had been rotated out was presented at the token endpoint. */
  rotatedOutTokenPresented: number;
  grantsRevoked: number;
  listenerAccepted: number;
  listenerRejected401: number;
  /** Whether the grant a refresh token belongs to (current or rotated out) is still alive. */
  isGrantAlive(refreshToken: string): boolean;
}

export interface ConnectedAppInfo {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly callbackUrls: string[];
}

export interface SandboxUserInfo {
  readonly username: string;
  readonly password: string;
}

export interface Sandbox {
  /** Base URL, e.g. `http://localhost:PORT`; also the `instance_url` of every token. */
  readonly url: string;
  readonly connectedApp: ConnectedAppInfo;
  readonly users: SandboxUserInfo[];
  /** The Hono app, for in-process tests with `app.request()`. */
  readonly app: Hono;
  /** Mint a grant directly, as if the web flow had run; returns its refresh token. */
  issueRefreshToken(opts?: { username?: string; scope?: string }): string;
  /** Force-expire every access token issued so far. */
  expireAccessTokens(): void;
  /**
   * Keep every token answer waiting (requests are still counted as they arrive) until the
   * returned function is called: a test decides when an answer lands, without a timer.
   */
  holdTokenAnswers(): () => void;
  revokeGrant(refreshToken: string): void;
  revokeAllGrants(): void;
  setRotation(on: boolean): void;
  addCallbackUrl(url: string): void;
  /** Set the client-credentials "Run As" user (off by default). */
  enableClientCredentials(opts?: { username?: string }): void;
  disableClientCredentials(): void;
  readonly stats: SandboxStats;
  readonly received: ReceivedCallback[];
  close(): Promise<void>;
}

/** The sandbox without a listening socket; its `url` is the `baseUrl` it was created with. */
export type InProcessSandbox = Omit<Sandbox, 'close'>;
