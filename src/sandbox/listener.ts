// The Apex-REST-like listener, `{instance_url}/services/apexrest/*`: where Herald delivers.
// It is the only place an access token's death becomes visible to a client, as Salesforce's
// exact 401 body. A token without the `api` scope gets a 401 with the same error code but a
// message a refresh cannot fix, so clients that refresh on every 401 loop here as they would
// against the real org.

import { Hono } from 'hono';
import { bearerToken, SESSION_INVALID, SESSION_NOT_FOR_REST, sleep } from './http.js';
import type { SandboxState } from './state.js';

export function listenerRoutes(state: SandboxState): Hono {
  const routes = new Hono();

  routes.all('/services/apexrest/*', async (c) => {
    // The session is checked when the request arrives, before any Apex code would run.
    const token = bearerToken(c);
    const record = token ? state.liveAccessToken(token) : undefined;
    if (!token || !record) {
      state.counters.listenerRejected401++;
      return c.json(SESSION_INVALID, 401);
    }
    const { grant } = record;
    if (!grant.scopes.includes('api') && !grant.scopes.includes('full')) {
      state.counters.listenerRejected401++;
      return c.json(SESSION_NOT_FOR_REST, 401);
    }
    state.touch(record);
    if (c.req.method !== 'POST') {
      return c.json(
        [
          {
            errorCode: 'METHOD_NOT_ALLOWED',
            message: `HTTP Method '${c.req.method}' not allowed. Allowed are POST`,
          },
        ],
        405,
        { Allow: 'POST' },
      );
    }

    const body = await c.req.text();
    await sleep(state.tunables.listenerLatencyMs);
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    state.received.push({
      path: c.req.path,
      headers,
      body,
      accessToken: token,
      username: grant.user.username,
      at: state.now(),
    });
    state.counters.listenerAccepted++;
    // A void @HttpPost method answers 200 with an empty body.
    return c.body(null, 200);
  });

  return routes;
}
