// Accounts (operator key) and API keys (the account's own, or any account's with the operator key).

import { Hono, type Context } from 'hono';
import { NotFoundError } from '../../errors.js';
import { parseId, type AccountId, type ApiKeyId } from '../../domain/ids.js';
import { jsonBody, pageCursor } from '../body.js';
import { accountOf, json, requireAdmin, type AppEnv, type RouteDeps } from '../context.js';
import { DEFAULT_PAGE_SIZE, NoQuerySchema, PageQuerySchema, parseQuery } from '../query.js';
import { presentAccount, presentApiKey, presentOperationalEvent } from '../../services/present.js';
import {
  AccountCreateSchema,
  AccountPatchSchema,
  ApiKeyCreateSchema,
} from '../../services/schemas.js';

function keyId(c: Context<AppEnv>): ApiKeyId {
  const id = parseId('apiKey', c.req.param('keyId') ?? '');
  if (!id) throw new NotFoundError('API key', c.req.param('keyId') ?? '');
  return id;
}

function adminAccountId(c: Context<AppEnv>): AccountId {
  requireAdmin(c);
  const id = parseId('account', c.req.param('accountId') ?? '');
  if (!id) throw new NotFoundError('Account', c.req.param('accountId') ?? '');
  return id;
}

export function accountRoutes({ services }: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const accounts = services.accounts;

  app.post('/accounts', async (c) => {
    requireAdmin(c);
    const body = await jsonBody(c, AccountCreateSchema);
    const account = await accounts.createAccount(body.name, body.contactEmail ?? null);
    const key = await accounts.createApiKey(account.id, 'first key');
    return json({ ...presentAccount(account), apiKey: presentApiKey(key) }, 201);
  });
  app.get('/accounts', async (c) => {
    requireAdmin(c);
    parseQuery(c, NoQuerySchema);
    return json({ data: (await accounts.listAccounts()).map(presentAccount), next: null });
  });
  app.get('/accounts/:accountId', async (c) => {
    const id = adminAccountId(c);
    parseQuery(c, NoQuerySchema);
    return json(presentAccount(await accounts.getAccount(id)));
  });
  app.patch('/accounts/:accountId', async (c) => {
    const id = adminAccountId(c);
    const body = await jsonBody(c, AccountPatchSchema);
    return json(presentAccount(await accounts.setContactEmail(id, body.contactEmail)));
  });
  app.get('/accounts/:accountId/api-keys', async (c) => {
    const id = adminAccountId(c);
    parseQuery(c, NoQuerySchema);
    const keys = await accounts.listApiKeys(id);
    return json({ data: keys.map(presentApiKey), next: null });
  });
  app.post('/accounts/:accountId/api-keys', async (c) => {
    const id = adminAccountId(c);
    const body = await jsonBody(c, ApiKeyCreateSchema);
    return json(presentApiKey(await accounts.createApiKey(id, body.name ?? 'api key')), 201);
  });
  app.delete('/accounts/:accountId/api-keys/:keyId', async (c) => {
    await accounts.revokeApiKey(adminAccountId(c), keyId(c));
    return new Response(null, { status: 204 });
  });

  // The caller's own account (the default account for HERALD_API_KEY): its contact address
  // receives alert emails.
  app.get('/account', async (c) => {
    parseQuery(c, NoQuerySchema);
    return json(presentAccount(await accounts.getAccount(accountOf(c))));
  });
  app.patch('/account', async (c) => {
    const accountId = accountOf(c);
    const body = await jsonBody(c, AccountPatchSchema);
    return json(presentAccount(await accounts.setContactEmail(accountId, body.contactEmail)));
  });

  app.get('/api-keys', async (c) => {
    parseQuery(c, NoQuerySchema);
    const keys = await accounts.listApiKeys(accountOf(c));
    return json({ data: keys.map(presentApiKey), next: null });
  });
  app.post('/api-keys', async (c) => {
    const accountId = accountOf(c);
    const body = await jsonBody(c, ApiKeyCreateSchema);
    return json(presentApiKey(await accounts.createApiKey(accountId, body.name ?? 'api key')), 201);
  });
  app.delete('/api-keys/:keyId', async (c) => {
    await accounts.revokeApiKey(accountOf(c), keyId(c));
    return new Response(null, { status: 204 });
  });

  app.get('/operational-events', async (c) => {
    const q = parseQuery(c, PageQuerySchema);
    const page = await services.operations.list(
      accountOf(c),
      pageCursor('operational', q.cursor),
      q.limit ?? DEFAULT_PAGE_SIZE,
    );
    return json({ data: page.data.map(presentOperationalEvent), next: page.next });
  });

  return app;
}
