// What tests and `herald demo` may do to the org that a real Salesforce admin would do in Setup:
// mint grants, expire sessions, revoke, switch rotation, set the Run As user. Each control is a
// function over the state, used both by the in-process Sandbox object and by the unauthenticated
// HTTP routes under /_sandbox/ (for out-of-process tests; it is a sandbox, there is no secret).

import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { hasRefreshScope, type SandboxState, type SandboxUser } from './state.js';

const DEFAULT_DIRECT_SCOPE = 'api refresh_token';

function userOrDefault(state: SandboxState, username: string | undefined): SandboxUser {
  const user = username === undefined ? state.users[0] : state.findUser(username);
  if (!user) throw new Error(`sandbox: no user ${username ?? '(default)'}`);
  return user;
}

/** A grant as if the web flow had run (it counts as an approval); returns its refresh token. */
export function issueRefreshToken(
  state: SandboxState,
  opts: { username?: string | undefined; scope?: string | undefined } = {},
): string {
  const user = userOrDefault(state, opts.username);
  const scopes = [...new Set((opts.scope ?? DEFAULT_DIRECT_SCOPE).split(/\s+/).filter(Boolean))];
  const unknown = scopes.filter((s) => !state.app.scopes.includes(s));
  if (unknown.length > 0) throw new Error(`sandbox: scope not allowed: ${unknown.join(' ')}`);
  if (!hasRefreshScope(scopes)) {
    throw new Error('sandbox: a refresh token needs the refresh_token or offline_access scope');
  }
  const grant = state.approve(user, scopes, 'direct');
  if (!grant.refreshToken) throw new Error('sandbox: grant without refresh token');
  return grant.refreshToken;
}

/** Revoke the grant a refresh token (current or rotated out) belongs to; unknown is a no-op. */
export function revokeGrantOf(state: SandboxState, refreshToken: string): void {
  const found = state.findRefreshToken(refreshToken);
  if (found) state.revokeGrant(found.grant);
}

export function enableClientCredentials(
  state: SandboxState,
  opts: { username?: string | undefined } = {},
): void {
  state.tunables.clientCredentialsUser = userOrDefault(state, opts.username);
}

/** Register one more exact callback URL on the connected app. */
export function addCallbackUrl(state: SandboxState, url: string): void {
  new URL(url); // throws on anything that is not an absolute URL
  if (!state.app.callbackUrls.includes(url)) state.app.callbackUrls.push(url);
}

export function statsSnapshot(state: SandboxState) {
  return {
    ...state.counters,
    received: state.received.length,
    rotation: state.tunables.rotation,
    clientCredentialsUser: state.tunables.clientCredentialsUser?.username ?? null,
    grants: state.listGrants().map((g) => ({
      id: g.id,
      kind: g.kind,
      username: g.user.username,
      scope: g.scopes.join(' '),
      alive: g.alive,
      createdAt: g.createdAt,
    })),
  };
}

const IssueBody = z.object({ username: z.string().optional(), scope: z.string().optional() });
const RotationBody = z.object({ on: z.boolean() });
const UserBody = z.object({ username: z.string().optional() });
const TokenBody = z.object({ refresh_token: z.string().min(1) });
const UrlBody = z.object({ url: z.url() });

/** Parse an optional JSON body against a schema; an empty body is `{}`. */
async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<T | Response> {
  const text = await c.req.text();
  let json: unknown = {};
  try {
    if (text.trim() !== '') json = JSON.parse(text);
  } catch {
    return c.json({ error: 'invalid_json' }, 400);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    return c.json({ error: 'invalid_request', issues: parsed.error.issues }, 400);
  return parsed.data;
}

/** Run a control; its own errors (unknown user, bad scope) become a 400. */
const attempt = (c: Context, action: () => unknown): Response => {
  try {
    const result = action();
    return c.json({ ok: true, ...(typeof result === 'object' && result !== null ? result : {}) });
  } catch (err) {
    return c.json({ error: 'invalid_request', message: (err as Error).message }, 400);
  }
};

export function controlRoutes(state: SandboxState): Hono {
  const routes = new Hono().basePath('/_sandbox');

  routes.get('/info', (c) =>
    c.json({
      url: state.baseUrl,
      orgId: state.orgId,
      connectedApp: {
        clientId: state.app.clientId,
        clientSecret: state.app.clientSecret,
        callbackUrls: state.app.callbackUrls,
        scopes: state.app.scopes,
      },
      users: state.users.map((u) => ({ username: u.username, password: u.password })),
    }),
  );
  routes.get('/stats', (c) => c.json(statsSnapshot(state)));
  routes.get('/received', (c) => c.json(state.received));

  routes.post('/expire-access-tokens', (c) => attempt(c, () => state.expireAccessTokens()));
  routes.post('/revoke-all', (c) => attempt(c, () => state.revokeAllGrants()));

  routes.post('/rotation', async (c) => {
    const body = await parseBody(c, RotationBody);
    if (body instanceof Response) return body;
    state.tunables.rotation = body.on;
    return c.json({ ok: true, rotation: body.on });
  });

  routes.post('/refresh-tokens', async (c) => {
    const body = await parseBody(c, IssueBody);
    if (body instanceof Response) return body;
    return attempt(c, () => ({ refresh_token: issueRefreshToken(state, body) }));
  });

  routes.post('/revoke-grant', async (c) => {
    const body = await parseBody(c, TokenBody);
    if (body instanceof Response) return body;
    return attempt(c, () => revokeGrantOf(state, body.refresh_token));
  });

  routes.post('/grant-alive', async (c) => {
    const body = await parseBody(c, TokenBody);
    if (body instanceof Response) return body;
    return c.json({ alive: state.isGrantAlive(body.refresh_token) });
  });

  routes.post('/client-credentials', async (c) => {
    const body = await parseBody(c, UserBody);
    if (body instanceof Response) return body;
    return attempt(c, () => enableClientCredentials(state, body));
  });

  routes.post('/callback-urls', async (c) => {
    const body = await parseBody(c, UrlBody);
    if (body instanceof Response) return body;
    addCallbackUrl(state, body.url);
    return c.json({ ok: true, callbackUrls: state.app.callbackUrls });
  });

  return routes;
}
