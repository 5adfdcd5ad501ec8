// `/v1/endpoints`: several endpoints per account, each with its own URL, events, auth, headers,
// signing secret and options; reconnect, test and recover.

import { Hono, type Context } from 'hono';
import { NotFoundError, ValidationError } from '../../errors.js';
import { isMasked } from '../../domain/endpoint.js';
import { parseId, type EndpointId } from '../../domain/ids.js';
import { jsonBody, timeRange } from '../body.js';
import { accountOf, json, type AppEnv, type RouteDeps } from '../context.js';
import { NoQuerySchema, parseQuery } from '../query.js';
import { draftFromBody, patchFromBody, salesforceAuth } from '../../services/drafts.js';
import { presentEndpoint } from '../../services/present.js';
import {
  CredentialsSchema,
  EndpointCreateSchema,
  EndpointPatchSchema,
  RecoverSchema,
  TestEventSchema,
} from '../../services/schemas.js';

function endpointId(c: Context<AppEnv>): EndpointId {
  const id = parseId('endpoint', c.req.param('id') ?? '');
  if (!id) throw new NotFoundError('Endpoint', c.req.param('id') ?? '');
  return id;
}

/**
 * New credentials replace the stored ones, so a masked value (as GET shows them) can only be a
 * mistake: stored as sent it would destroy the real secret.
 */
function refuseMasked(body: Partial<Record<string, unknown>>): void {
  for (const name of ['key', 'refreshToken', 'clientSecret', 'salesforceKey']) {
    const value = body[name];
    if (typeof value === 'string' && isMasked(value)) {
      const message =
        'is masked (it starts with ****); send the full value to replace the stored one';
      throw new ValidationError('invalid_credentials', `${name} ${message}`, {
        problems: [{ path: name, message }],
      });
    }
  }
}

export function endpointRoutes({ services }: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const endpoints = services.endpoints;

  app.get('/', async (c) => {
    parseQuery(c, NoQuerySchema);
    const list = await endpoints.list(accountOf(c));
    return json({ data: list.map(presentEndpoint), next: null });
  });

  app.post('/', async (c) => {
    const accountId = accountOf(c);
    const body = await jsonBody(c, EndpointCreateSchema);
    const { endpoint, signingSecret } = await endpoints.create(
      accountId,
      null,
      draftFromBody(body),
    );
    // The signing secret is shown once, here; afterwards only its count is visible.
    return json({ ...presentEndpoint(endpoint), ...(signingSecret ? { signingSecret } : {}) }, 201);
  });

  app.get('/:id', async (c) => {
    parseQuery(c, NoQuerySchema);
    return json(presentEndpoint(await endpoints.get(accountOf(c), endpointId(c))));
  });

  app.patch('/:id', async (c) => {
    const accountId = accountOf(c);
    const id = endpointId(c);
    const body = await jsonBody(c, EndpointPatchSchema);
    const current = await endpoints.get(accountId, id);
    let endpoint = await endpoints.update(accountId, id, patchFromBody(body, current));
    // Signing turned on here: its new secret is shown once, as on create.
    const before = current.secrets.signingSecrets ?? [];
    const signingSecret =
      before.length === 0 ? endpoint.secrets.signingSecrets?.[0]?.secret : undefined;
    if (body.state) endpoint = await endpoints.setState(accountId, id, body.state);
    return json({ ...presentEndpoint(endpoint), ...(signingSecret ? { signingSecret } : {}) });
  });

  app.delete('/:id', async (c) => {
    await endpoints.delete(accountOf(c), endpointId(c));
    return new Response(null, { status: 204 });
  });

  app.put('/:id/credentials', async (c) => {
    const accountId = accountOf(c);
    const id = endpointId(c);
    const body = await jsonBody(c, CredentialsSchema);
    refuseMasked(body);
    let oauth;
    let refreshToken = body.refreshToken;
    let clientSecret = body.clientSecret;
    if (body.salesforceKey) {
      const auth = salesforceAuth(body.salesforceKey, undefined);
      if (auth.type === 'OAUTH2') {
        oauth = auth.oauth;
        refreshToken = typeof auth.refreshToken === 'string' ? auth.refreshToken : refreshToken;
        clientSecret = typeof auth.clientSecret === 'string' ? auth.clientSecret : clientSecret;
      }
    }
    if (!body.key && !refreshToken && !clientSecret && !oauth) {
      throw new ValidationError(
        'invalid_credentials',
        'Send `key`, `refreshToken`, `clientSecret` or `salesforceKey`',
      );
    }
    const endpoint = await endpoints.replaceCredentials(accountId, id, {
      key: body.key,
      refreshToken,
      clientSecret,
      oauth,
    });
    return json(presentEndpoint(endpoint));
  });

  app.post('/:id/test', async (c) => {
    const accountId = accountOf(c);
    const id = endpointId(c);
    const hasBody =
      (c.req.header('content-length') ?? '0') !== '0' ||
      c.req.header('transfer-encoding') !== undefined;
    const event = hasBody ? await jsonBody(c, TestEventSchema) : {};
    return json(await services.tester.test(accountId, id, event));
  });

  app.post('/:id/recover', async (c) => {
    const accountId = accountOf(c);
    const id = endpointId(c);
    const body = await jsonBody(c, RecoverSchema);
    const { since, until } = timeRange(body.since, body.until, Date.now() + 1);
    const recovered = await endpoints.recover(accountId, id, since!, until!);
    return json({ recovered }, 202);
  });

  app.post('/:id/signing-secret/rotate', async (c) => {
    const secret = await endpoints.rotateSigningSecret(accountOf(c), endpointId(c));
    return json({ signingSecret: secret, previousValidForHours: 24 });
  });

  // Token tools for the endpoint's stored OAuth credential.
  app.post('/:id/token/test', async (c) =>
    json(await services.tokens.refresh(accountOf(c), endpointId(c), true)),
  );
  app.post('/:id/token/refresh', async (c) =>
    json(await services.tokens.refresh(accountOf(c), endpointId(c), false)),
  );
  app.post('/:id/token/revoke', async (c) =>
    json(await services.tokens.revoke(accountOf(c), endpointId(c))),
  );
  app.post('/:id/token/introspect', async (c) =>
    json(await services.tokens.introspect(accountOf(c), endpointId(c))),
  );

  return app;
}
