// POST /services/oauth2/token: dispatches on grant_type, applies the artificial processing time
// and keeps the counters. The in-flight counter wraps the whole request, latency included, so
// `maxConcurrentTokenRequests` shows how many requests a client really had open at once.

import { Hono } from 'hono';
import { readClientAuth } from './client-auth.js';
import { oauthError, readForm, sendOAuthError, sendTokenJson, sleep } from './http.js';
import type { SandboxState } from './state.js';
import {
  prepareAuthorizationCode,
  prepareClientCredentials,
  prepareRefresh,
  type Outcome,
  type Prepared,
} from './token-grants.js';

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

function prepare(
  state: SandboxState,
  grantType: string,
  form: URLSearchParams,
  auth: string | undefined,
): Prepared {
  const client = readClientAuth(auth, form);
  switch (grantType) {
    case 'refresh_token':
      return prepareRefresh(state, form, client);
    case 'authorization_code':
      return prepareAuthorizationCode(state, form, client);
    case 'client_credentials':
      return prepareClientCredentials(state, client);
    default:
      return { ok: false, error: oauthError('unsupported_grant_type', 'grant type not supported') };
  }
}

export function tokenRoutes(state: SandboxState): Hono {
  const routes = new Hono();
  let inFlight = 0;

  routes.post('/services/oauth2/token', async (c) => {
    const { counters } = state;
    counters.tokenRequests++;
    inFlight++;
    counters.maxConcurrentTokenRequests = Math.max(counters.maxConcurrentTokenRequests, inFlight);
    let release = (): void => undefined;
    try {
      const form = await readForm(c);
      const grantType = form.get('grant_type') ?? '';
      bump(counters.byGrant, grantType || '(missing)');

      const prepared = prepare(state, grantType, form, c.req.header('authorization'));
      if (prepared.ok) release = prepared.release;
      await sleep(state.tunables.tokenLatencyMs);
      if (state.tokenAnswersHeld) await state.tokenAnswersHeld;
      const outcome: Outcome = prepared.ok ? prepared.complete() : prepared;

      if (outcome.ok) return sendTokenJson(c, outcome.body);
      bump(counters.tokenErrors, outcome.error.error);
      return sendOAuthError(c, outcome.error);
    } finally {
      release();
      inFlight--;
    }
  });

  return routes;
}
