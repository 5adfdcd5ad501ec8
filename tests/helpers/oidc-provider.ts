// A real, certified OAuth 2.0 authorization server for tests: `oidc-provider` from npm, in-process
// on 127.0.0.1 over plain http, with refresh-token rotation, client credentials, introspection and
// revocation, short token lifetimes, and counters of what reached its token endpoint. Plus a
// listener that accepts only bearer tokens the provider says are valid.
//
// oidc-provider ships no types: the little of its surface used here is typed below, and the module
// is loaded with a non-literal dynamic import so that TypeScript does not look for a declaration.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

// ---- the part of oidc-provider's API used here ----

interface KoaContext {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  status: number;
  body: unknown;
  readonly oidc?: {
    readonly params?: Record<string, unknown>;
    readonly client?: { readonly clientId: string; readonly clientAuthMethod: string };
  };
}

interface StoredToken {
  readonly isValid: boolean;
  readonly isExpired: boolean;
  readonly consumed?: unknown;
  readonly exp?: number;
  destroy(): Promise<void>;
}

interface TokenModel {
  find(value: string, options?: { ignoreExpiration?: boolean }): Promise<StoredToken | undefined>;
}

interface RefreshTokenModel extends TokenModel {
  new (payload: {
    accountId: string;
    client: unknown;
    grantId: string;
    scope: string;
    gty: string;
  }): { save(): Promise<string> };
}

interface GrantModel {
  new (payload: { accountId: string; clientId: string }): {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  };
}

interface InteractionDetails {
  readonly prompt: { readonly name: string };
  readonly params: Record<string, unknown>;
  readonly session?: { readonly accountId?: string };
}

export interface ProviderInstance {
  readonly issuer: string;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): unknown;
  on(event: 'server_error', listener: (ctx: KoaContext, error: Error) => void): unknown;
  readonly Client: { find(id: string): Promise<unknown> };
  readonly Grant: GrantModel;
  readonly RefreshToken: RefreshTokenModel;
  readonly AccessToken: TokenModel;
  readonly ClientCredentials: TokenModel;
}

type ProviderConstructor = new (
  issuer: string,
  configuration: Record<string, unknown>,
) => ProviderInstance;

const OIDC_PROVIDER_MODULE: string = 'oidc-provider';

async function loadProvider(): Promise<ProviderConstructor> {
  const loaded = (await import(OIDC_PROVIDER_MODULE)) as { Provider: ProviderConstructor };
  return loaded.Provider;
}

// ---- storage: a plain in-memory adapter, one per provider (the built-in one is shared and warns) ----

interface Entry {
  payload: Record<string, unknown>;
}

function memoryAdapter(): new (model: string) => object {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const secondary = new Map<string, string>();
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    private key(id: string): string {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>): Promise<void> {
      const key = this.key(id);
      entries.set(key, { payload });
      if (typeof payload.grantId === 'string') {
        const members = byGrant.get(payload.grantId) ?? new Set<string>();
        members.add(key);
        byGrant.set(payload.grantId, members);
      }
      if (typeof payload.uid === 'string') secondary.set(`uid:${payload.uid}`, id);
      if (typeof payload.userCode === 'string') secondary.set(`code:${payload.userCode}`, id);
    }
    async find(id: string): Promise<Record<string, unknown> | undefined> {
      return entries.get(this.key(id))?.payload;
    }
    async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
      const id = secondary.get(`uid:${uid}`);
      return id === undefined ? undefined : this.find(id);
    }
    async findByUserCode(code: string): Promise<Record<string, unknown> | undefined> {
      const id = secondary.get(`code:${code}`);
      return id === undefined ? undefined : this.find(id);
    }
    async consume(id: string): Promise<void> {
      const entry = entries.get(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      entries.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      const members = byGrant.get(grantId);
      if (!members) return;
      for (const key of members) {
        if (key.startsWith(`${this.model}:`)) {
          entries.delete(key);
          members.delete(key);
        }
      }
    }
  };
}

// ---- what the token endpoint saw ----

export type ClientAuthOnWire = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface TokenRequestRecord {
  readonly grantType: string;
  /** The client the provider authenticated (null when authentication failed early). */
  readonly clientId: string | null;
  /** How the client authenticated, as sent: `Authorization: Basic` or `client_secret` in the body. */
  readonly authMethod: ClientAuthOnWire;
  readonly scope: string | null;
  readonly status: number;
  readonly error: string | null;
  readonly errorDescription: string | null;
  readonly accessToken: string | null;
  readonly refreshToken: string | null;
  readonly expiresIn: number | null;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface TokenEndpointStats {
  /** Every request to the token endpoint, in the order they finished. */
  readonly requests: readonly TokenRequestRecord[];
  /** The most token requests that were being processed at one time. */
  readonly maxInFlight: number;
  readonly inFlight: number;
  /** Requests by `grant_type`, successful or not. */
  byGrant(): Record<string, number>;
  /** Requests by how the client authenticated on the wire. */
  byAuthMethod(): Record<string, number>;
  /** Error codes the token endpoint answered, with how often. */
  errors(): Record<string, number>;
  readonly serverErrors: readonly Error[];
}

export interface OidcClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface OidcProviderOptions {
  /** `ttl.AccessToken`, in seconds (default 2). */
  readonly accessTokenTtlSeconds?: number;
  /** `ttl.ClientCredentials`, in seconds (default 2). */
  readonly clientCredentialsTtlSeconds?: number;
  /** Added to every token request before the provider handles it. */
  readonly tokenLatencyMs?: number;
  /** More redirect URIs registered for both clients (authorization-code flow tests). */
  readonly redirectUris?: readonly string[];
  /**
   * How the provider's login and consent interactions answer (there is no UI): `approve` logs
   * in the account `integrator` and grants the requested scopes; `deny` answers access_denied.
   */
  readonly interaction?: () => 'approve' | 'deny';
  /**
   * oidc-provider keeps times in whole seconds: a token minted at 10.9 s with a 2 s lifetime has
   * `exp` 12 and dies 1.1 s later, though its `expires_in` said 2. With this option (the default)
   * the token endpoint handles each request at the start of the next second, so `expires_in` is
   * exact to a few milliseconds and a client that refreshes ahead of it never presents a dead
   * token. Off: the provider's own timing, where early expiry turns into listener 401s.
   */
  readonly alignIssuanceToSeconds?: boolean;
}

export interface TestOidcProvider {
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly provider: ProviderInstance;
  readonly clients: { readonly basic: OidcClient; readonly post: OidcClient };
  readonly accessTokenTtlSeconds: number;
  readonly clientCredentialsTtlSeconds: number;
  readonly stats: TokenEndpointStats;
  /** Mints a refresh token (scope `offline_access api`) for a client, as a consent would. */
  mintRefreshToken(client: OidcClient, accountId?: string): Promise<string>;
  /** Whether an access token (refresh-token or client-credentials grant) is valid now. */
  isAccessTokenValid(token: string): Promise<boolean>;
  /** What the provider knows of a refresh token. */
  refreshTokenState(token: string): Promise<'active' | 'consumed' | 'expired' | 'unknown'>;
  /** The last refresh token the token endpoint issued (rotation's newest). */
  lastIssuedRefreshToken(): string | undefined;
  /** RFC 7662 introspection through the provider's endpoint. */
  introspect(
    token: string,
    client?: OidcClient,
  ): Promise<{ active: boolean; [k: string]: unknown }>;
  /**
   * RFC 7009 revocation through the provider's endpoint. oidc-provider revokes every token of
   * the grant with an access token of a refresh-token grant (the grant record stays).
   */
  revoke(token: string, client?: OidcClient): Promise<number>;
  /** Removes one access token from the provider's store, leaving its grant alone. */
  destroyAccessToken(token: string): Promise<boolean>;
  /** Sends a refresh-token grant itself (for checking that a refresh token still works). */
  refreshDirectly(
    client: OidcClient,
    refreshToken: string,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}

function basicAuth(client: OidcClient): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(client.clientId)}:${enc(client.clientSecret)}`).toString('base64')}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export async function startOidcProvider(
  options: OidcProviderOptions = {},
): Promise<TestOidcProvider> {
  const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 2;
  const clientCredentialsTtlSeconds = options.clientCredentialsTtlSeconds ?? 2;
  const align = options.alignIssuanceToSeconds ?? true;
  const Provider = await loadProvider();

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const clients = {
    basic: {
      clientId: 'herald-basic',
      clientSecret: secret(),
      authMethod: 'client_secret_basic',
    },
    post: {
      clientId: 'herald-post',
      clientSecret: secret(),
      authMethod: 'client_secret_post',
    },
  } as const satisfies Record<string, OidcClient>;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256' };

  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    jwks: { keys: [signingKey] },
    cookies: { keys: [secret()] },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub }),
    }),
    scopes: ['openid', 'offline_access', 'api'],
    clients: Object.values(clients).map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      token_endpoint_auth_method: c.authMethod,
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', ...(options.redirectUris ?? [])],
      scope: 'openid offline_access api',
    })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true, allowedPolicy: async () => true },
    },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTokenTtlSeconds,
      ClientCredentials: clientCredentialsTtlSeconds,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Session: 3600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
    },
  });

  const requests: TokenRequestRecord[] = [];
  const serverErrors: Error[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  provider.on('server_error', (_ctx, error) => {
    serverErrors.push(error);
  });

  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token') return next();
    const startedAt = Date.now();
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (options.tokenLatencyMs) await sleep(options.tokenLatencyMs);
      if (align) await sleep(1000 - (Date.now() % 1000) + 2);
      await next();
    } finally {
      inFlight -= 1;
      const params = ctx.oidc?.params ?? {};
      const body = (typeof ctx.body === 'object' && ctx.body !== null ? ctx.body : {}) as Record<
        string,
        unknown
      >;
      const authorization = ctx.headers.authorization;
      requests.push({
        grantType: text(params.grant_type) ?? 'unknown',
        clientId: ctx.oidc?.client?.clientId ?? null,
        authMethod: authorization?.toLowerCase().startsWith('basic ')
          ? 'client_secret_basic'
          : params.client_secret !== undefined
            ? 'client_secret_post'
            : 'none',
        scope: text(params.scope),
        status: ctx.status,
        error: text(body.error),
        errorDescription: text(body.error_description),
        accessToken: text(body.access_token),
        refreshToken: text(body.refresh_token),
        expiresIn: typeof body.expires_in === 'number' ? body.expires_in : null,
        startedAt,
        endedAt: Date.now(),
      });
    }
  });

  const callback = provider.callback();
  // No interaction UI: login and consent are answered at once, as the test asks.
  const interact = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const details = await provider.interactionDetails(req, res);
    if ((options.interaction?.() ?? 'approve') === 'deny') {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'End-User aborted interaction',
      });
      return;
    }
    if (details.prompt.name === 'login') {
      await provider.interactionFinished(req, res, { login: { accountId: 'integrator' } });
      return;
    }
    const grant = new provider.Grant({
      accountId: details.session?.accountId ?? 'integrator',
      clientId: String(details.params.client_id),
    });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) {
      interact(req, res).catch((error: unknown) => {
        serverErrors.push(error as Error);
        res.writeHead(500).end();
      });
      return;
    }
    callback(req, res);
  });
  server.keepAliveTimeout = 30_000;

  const count = (key: (r: TokenRequestRecord) => string | null): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of requests) {
      const k = key(r);
      if (k !== null) out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };

  const stats: TokenEndpointStats = {
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    get inFlight() {
      return inFlight;
    },
    byGrant: () => count((r) => r.grantType),
    byAuthMethod: () => count((r) => r.authMethod),
    errors: () => count((r) => r.error),
    serverErrors,
  };

  const form = async (path: string, client: OidcClient, params: Record<string, string>) => {
    const body = new URLSearchParams(params);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (client.authMethod === 'client_secret_basic') headers.authorization = basicAuth(client);
    else {
      body.set('client_id', client.clientId);
      body.set('client_secret', client.clientSecret);
    }
    const response = await fetch(`${issuer}${path}`, { method: 'POST', headers, body });
    const raw = await response.text();
    return {
      status: response.status,
      body: (raw === '' ? {} : JSON.parse(raw)) as Record<string, unknown>,
    };
  };

  return {
    issuer,
    tokenUrl: `${issuer}/token`,
    provider,
    clients,
    accessTokenTtlSeconds,
    clientCredentialsTtlSeconds,
    stats,
    async mintRefreshToken(client, accountId = 'listener-owner') {
      const registered = await provider.Client.find(client.clientId);
      if (!registered) throw new Error(`no client ${client.clientId}`);
      const grant = new provider.Grant({ accountId, clientId: client.clientId });
      grant.addOIDCScope('offline_access api');
      const grantId = await grant.save();
      const token = new provider.RefreshToken({
        accountId,
        client: registered,
        grantId,
        scope: 'offline_access api',
        gty: 'authorization_code',
      });
      return token.save();
    },
    async isAccessTokenValid(token) {
      const found =
        (await provider.AccessToken.find(token)) ?? (await provider.ClientCredentials.find(token));
      return found !== undefined && found.isValid;
    },
    async refreshTokenState(token) {
      const found = await provider.RefreshToken.find(token, { ignoreExpiration: true });
      if (!found) return 'unknown';
      if (found.consumed) return 'consumed';
      if (found.isExpired) return 'expired';
      return 'active';
    },
    lastIssuedRefreshToken() {
      return requests.findLast((r) => r.refreshToken !== null)?.refreshToken ?? undefined;
    },
    async introspect(token, client = clients.basic) {
      const { body } = await form('/token/introspection', client, { token });
      return body as { active: boolean };
    },
    async revoke(token, client = clients.basic) {
      return (await form('/token/revocation', client, { token })).status;
    },
    async destroyAccessToken(token) {
      const found =
        (await provider.AccessToken.find(token)) ?? (await provider.ClientCredentials.find(token));
      if (!found) return false;
      await found.destroy();
      return true;
    },
    refreshDirectly(client, refreshToken) {
      return form('/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- a resource server (the webhook listener) that accepts only valid bearer tokens ----

export interface AcceptedRequest {
  readonly token: string;
  /** Herald's `webhook-id` header: the event id. */
  readonly eventId: string | undefined;
  readonly body: string;
  readonly at: number;
}

export interface RejectedRequest {
  readonly token: string | null;
  readonly eventId: string | undefined;
  readonly at: number;
}

export interface BearerListener {
  readonly url: string;
  readonly accepted: readonly AcceptedRequest[];
  readonly rejected: readonly RejectedRequest[];
  /** The most requests the listener was answering at one time. */
  readonly maxConcurrent: number;
  /** Distinct event ids accepted. */
  acceptedEventIds(): Set<string>;
  close(): Promise<void>;
}

export async function startBearerListener(
  oidc: Pick<TestOidcProvider, 'isAccessTokenValid'>,
  options: { delayMs?: number } = {},
): Promise<BearerListener> {
  const accepted: AcceptedRequest[] = [];
  const rejected: RejectedRequest[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      void (async () => {
        try {
          if (req.method !== 'POST') {
            res.writeHead(405, { allow: 'POST' }).end();
            return;
          }
          const eventId = req.headers['webhook-id'] as string | undefined;
          const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
          const token = match?.[1] ?? null;
          if (options.delayMs) await sleep(options.delayMs);
          if (token !== null && (await oidc.isAccessTokenValid(token))) {
            accepted.push({
              token,
              eventId,
              body: Buffer.concat(chunks).toString('utf8'),
              at: Date.now(),
            });
            res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
            return;
          }
          rejected.push({ token, eventId, at: Date.now() });
          res
            .writeHead(401, {
              'www-authenticate': 'Bearer error="invalid_token"',
              'content-type': 'text/plain',
            })
            .end('invalid token');
        } catch (error) {
          res.writeHead(500).end(String(error));
        } finally {
          concurrent -= 1;
        }
      })();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    rejected,
    get maxConcurrent() {
      return maxConcurrent;
    },
    acceptedEventIds: () => new Set(accepted.flatMap((a) => (a.eventId ? [a.eventId] : []))),
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
