// OneSpan-compatible callback configuration: `/api/callback` and its connectors. Existing
// OneSpan clients and SDKs work unchanged; each configuration is one endpoint of the account.

import { Hono } from 'hono';
import { HeraldError, MethodNotAllowedError, NotFoundError } from '../../errors.js';
import type { AccountId } from '../../domain/ids.js';
import {
  DEFAULT_ORIGIN,
  isConnectorOrigin,
  CONNECTOR_ORIGINS,
  type Origin,
} from '../../domain/endpoint.js';
import { jsonBody } from '../body.js';
import { accountOf, json, type AppEnv, type RouteDeps } from '../context.js';
import { draftFromCallback } from '../../services/drafts.js';
import { presentCallback } from '../../services/present.js';
import { CallbackSchema, type CallbackBody } from '../../services/schemas.js';

function originOf(param: string): Origin {
  if (!isConnectorOrigin(param)) {
    throw new HeraldError(
      'not_found',
      `Unknown connector ${JSON.stringify(param)}; known connectors: ${CONNECTOR_ORIGINS.join(', ')}`,
    );
  }
  return param;
}

export function callbackRoutes({ services }: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const read = async (accountId: AccountId, origin: Origin) => {
    const endpoint = await services.endpoints.findByOrigin(accountId, origin);
    if (!endpoint) {
      throw new NotFoundError(
        origin === DEFAULT_ORIGIN ? 'Callback' : 'Connector callback',
        origin === DEFAULT_ORIGIN ? 'callback' : origin,
      );
    }
    return json(presentCallback(endpoint));
  };

  const register = async (accountId: AccountId, origin: Origin, body: CallbackBody) => {
    const existing = await services.endpoints.findByOrigin(accountId, origin);
    const endpoint = await services.endpoints.upsertByOrigin(
      accountId,
      origin,
      draftFromCallback(origin, body, existing),
    );
    return json(presentCallback(endpoint));
  };

  const remove = async (accountId: AccountId, origin: Origin) => {
    const endpoint = await services.endpoints.findByOrigin(accountId, origin);
    if (!endpoint) throw new NotFoundError('Callback', origin);
    await services.endpoints.delete(accountId, endpoint.id);
    return new Response(null, { status: 204 });
  };

  app.get('/', (c) => read(accountOf(c), DEFAULT_ORIGIN));
  app.post('/', async (c) =>
    register(accountOf(c), DEFAULT_ORIGIN, await jsonBody(c, CallbackSchema)),
  );
  app.delete('/', (c) => remove(accountOf(c), DEFAULT_ORIGIN));
  app.get('/connectors/:origin', (c) => read(accountOf(c), originOf(c.req.param('origin'))));
  app.post('/connectors/:origin', async (c) => {
    const origin = originOf(c.req.param('origin'));
    return register(accountOf(c), origin, await jsonBody(c, CallbackSchema));
  });
  app.delete('/connectors/:origin', (c) => remove(accountOf(c), originOf(c.req.param('origin'))));
  // Both routes answer GET (and HEAD), POST and DELETE; any other method is told so, not 404.
  const notAllowed = (c: { req: { method: string; path: string } }) => {
    throw new MethodNotAllowedError(c.req.method, c.req.path, ['GET', 'POST', 'DELETE']);
  };
  app.all('/', notAllowed);
  app.all('/connectors/:origin', notAllowed);
  return app;
}
