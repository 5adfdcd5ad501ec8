// Accounts, for the operator (admin key): every account with its contact email, a new account,
// and each account's API keys (a new key is shown once; keys can be revoked). Also where an
// operator picks the account the other pages act for.

import type { Hono } from 'hono';
import { AuthError, NotFoundError } from '../../errors.js';
import { parseId, type AccountId, type ApiKeyId } from '../../domain/ids.js';
import { AccountCreateSchema, ApiKeyCreateSchema } from '../../services/schemas.js';
import { chromeOf } from '../chrome.js';
import {
  isOperator,
  seeOther,
  type ConsoleContext,
  type ConsoleDeps,
  type ConsoleEnv,
} from '../context.js';
import { formRefusal, readForm, text } from '../forms.js';
import { Csrf, Page } from '../layout.js';
import { Field, Table, Time } from '../ui.js';

function requireOperator(c: ConsoleContext): void {
  if (!isOperator(c))
    throw new AuthError(
      'forbidden',
      'Only the operator (signed in with the admin key) manages accounts.',
    );
}

function accountIdOf(c: ConsoleContext): AccountId {
  const id = parseId('account', c.req.param('id') ?? '');
  if (!id) throw new NotFoundError('Account', c.req.param('id') ?? '');
  return id;
}

function KeyOnce(props: { keyText: string; what: string }) {
  return (
    <div class="secret-once" role="status">
      <h2>{props.what}</h2>
      <p>Copy it now: it is shown this once and stored only as a hash.</p>
      <p>
        <code id="new-api-key">{props.keyText}</code>
      </p>
    </div>
  );
}

export function accountRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { services, cookies } = deps;

  app.post('/account', async (c) => {
    requireOperator(c);
    const chosen = text(await readForm(c), 'accountId');
    const accountId = chosen === '' ? null : parseId('account', chosen);
    if (accountId === undefined) throw new NotFoundError('Account', chosen);
    if (accountId !== null) await services.accounts.getAccount(accountId);
    cookies.saveSession(c, { ...c.get('session'), accountId });
    return seeOther(c, deps, '/console/');
  });

  const listPage = async (
    c: ConsoleContext,
    created?: { name: string; key: string },
    error?: string,
  ) => {
    const accounts = await services.accounts.listAccounts();
    const session = c.get('session');
    return c.html(
      <Page title="Accounts" section="accounts" chrome={await chromeOf(c, deps)}>
        <h1>Accounts</h1>
        {created ? <KeyOnce keyText={created.key} what={`API key of ${created.name}`} /> : null}
        <Table head={['Name', 'Id', 'Contact email', 'Created']}>
          {accounts.map((a) => (
            <tr>
              <td>
                <a href={`/console/accounts/${a.id}`}>{a.name}</a>
              </td>
              <td class="mono">{a.id}</td>
              <td>{a.contactEmail ?? '—'}</td>
              <td>
                <Time at={a.createdAt} />
              </td>
            </tr>
          ))}
        </Table>
        <section class="card" aria-labelledby="new-account">
          <h2 id="new-account">New account</h2>
          {error ? (
            <p class="notice error" role="alert">
              {error}
            </p>
          ) : null}
          <form method="post" action="/console/accounts" class="stack">
            <Csrf session={session} />
            <Field id="account-name" label="Name">
              <input id="account-name" name="name" type="text" required />
            </Field>
            <Field
              id="account-email"
              label="Contact email"
              hint="optional; told when deliveries fail"
            >
              <input id="account-email" name="contactEmail" type="email" />
            </Field>
            <div>
              <button type="submit">Create account</button>
            </div>
          </form>
        </section>
      </Page>,
      error ? 400 : created ? 201 : 200,
    );
  };

  app.get('/accounts', (c) => {
    requireOperator(c);
    return listPage(c);
  });

  app.post('/accounts', async (c) => {
    requireOperator(c);
    const form = await readForm(c);
    let created;
    try {
      const body = AccountCreateSchema.parse({
        name: text(form, 'name'),
        contactEmail: text(form, 'contactEmail') || null,
      });
      const account = await services.accounts.createAccount(body.name, body.contactEmail ?? null);
      const key = await services.accounts.createApiKey(account.id, 'first key');
      created = { name: account.name, key: key.key };
    } catch (error) {
      const refusal = formRefusal(error);
      if (!refusal) throw error;
      return listPage(c, undefined, refusal.message);
    }
    return listPage(c, created);
  });

  const accountPage = async (c: ConsoleContext, created?: string, error?: string) => {
    const id = accountIdOf(c);
    const [account, keys] = await Promise.all([
      services.accounts.getAccount(id),
      services.accounts.listApiKeys(id),
    ]);
    const session = c.get('session');
    return c.html(
      <Page title={account.name} section="accounts" chrome={await chromeOf(c, deps)}>
        <p>
          <a href="/console/accounts">Accounts</a> /
        </p>
        <h1>{account.name}</h1>
        {created ? <KeyOnce keyText={created} what="New API key" /> : null}
        <p>
          <span class="mono">{account.id}</span> · contact: {account.contactEmail ?? 'none'}
        </p>
        <h2>Details</h2>
        {error ? (
          <p class="notice error" role="alert">
            {error}
          </p>
        ) : null}
        <form method="post" action={`/console/accounts/${account.id}`} class="inline">
          <Csrf session={session} />
          <Field id="edit-name" label="Name">
            <input id="edit-name" name="name" type="text" required value={account.name} />
          </Field>
          <Field
            id="edit-email"
            label="Contact email"
            hint="told when deliveries fail; empty: none"
          >
            <input
              id="edit-email"
              name="contactEmail"
              type="email"
              value={account.contactEmail ?? ''}
            />
          </Field>
          <button type="submit">Save</button>
        </form>
        <h2>API keys</h2>
        <Table
          head={[
            'Name',
            'Starts with',
            'Created',
            'Revoked',
            { label: <span class="hint">Action</span> },
          ]}
        >
          {keys.map((k) => (
            <tr>
              <td>{k.name}</td>
              <td class="mono">{k.prefix}…</td>
              <td>
                <Time at={k.createdAt} />
              </td>
              <td>
                <Time at={k.revokedAt} />
              </td>
              <td>
                {k.revokedAt === null ? (
                  <form
                    method="post"
                    action={`/console/accounts/${account.id}/keys/${k.id}/revoke`}
                    data-confirm={`Revoke the key ${k.name}? Whoever uses it is refused from now on.`}
                  >
                    <Csrf session={session} />
                    <button type="submit" class="danger" aria-label={`Revoke ${k.name}`}>
                      Revoke
                    </button>
                  </form>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
        <form method="post" action={`/console/accounts/${account.id}/keys`} class="inline">
          <Csrf session={session} />
          <Field id="key-name" label="New key name">
            <input id="key-name" name="name" type="text" value="api key" />
          </Field>
          <button type="submit">Create API key</button>
        </form>
      </Page>,
      error ? 400 : created ? 201 : 200,
    );
  };

  app.post('/accounts/:id', async (c) => {
    requireOperator(c);
    const id = accountIdOf(c);
    const form = await readForm(c);
    try {
      const body = AccountCreateSchema.parse({
        name: text(form, 'name'),
        contactEmail: text(form, 'contactEmail') || null,
      });
      await services.accounts.updateAccount(id, {
        name: body.name,
        contactEmail: body.contactEmail ?? null,
      });
    } catch (error) {
      const refusal = formRefusal(error);
      if (!refusal) throw error;
      return accountPage(c, undefined, refusal.message);
    }
    return seeOther(c, deps, `/console/accounts/${id}`, { kind: 'ok', text: 'Saved.' });
  });

  app.get('/accounts/:id', (c) => {
    requireOperator(c);
    return accountPage(c);
  });

  app.post('/accounts/:id/keys', async (c) => {
    requireOperator(c);
    const body = ApiKeyCreateSchema.parse({ name: text(await readForm(c), 'name') || undefined });
    const key = await services.accounts.createApiKey(accountIdOf(c), body.name ?? 'api key');
    return accountPage(c, key.key);
  });

  app.post('/accounts/:id/keys/:keyId/revoke', async (c) => {
    requireOperator(c);
    const id = accountIdOf(c);
    const keyId = parseId('apiKey', c.req.param('keyId'));
    if (!keyId) throw new NotFoundError('API key', c.req.param('keyId'));
    await services.accounts.revokeApiKey(id, keyId as ApiKeyId);
    return seeOther(c, deps, `/console/accounts/${id}`, { kind: 'ok', text: 'Key revoked.' });
  });
}
