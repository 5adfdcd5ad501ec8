// One endpoint: everything about it, its health and latest deliveries, and what a person can do
// to it: change it, enable or disable it, send a test event, replace a secret (write-only),
// rotate the signing secret (the new one shown once), recover failed and held deliveries of a
// time range, use the OAuth token tools, connect Salesforce (see connect.tsx), delete it.

import type { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import { ValidationError, type FieldProblem } from '../../errors.js';
import { tracksAuthStatus, usesTokens } from '../../domain/auth-types.js';
import type { Endpoint } from '../../domain/endpoint.js';
import { parseId, type EndpointId } from '../../domain/ids.js';
import { formatDuration } from '../../domain/retry.js';
import { patchFromBody } from '../../services/drafts.js';
import { EndpointPatchSchema } from '../../services/schemas.js';
import { presentEndpoint } from '../../services/present.js';
import { connectable } from '../../services/web-connect.js';
import { chromeOf } from '../chrome.js';
import {
  accountOf,
  seeOther,
  type ConsoleContext,
  type ConsoleDeps,
  type ConsoleEnv,
} from '../context.js';
import { endpointBody, formRefusal, readForm, text, timeRangeOf, type Form } from '../forms.js';
import { Csrf, Page } from '../layout.js';
import type { Session } from '../session.js';
import { Badge, Facts, Field, formatMs, Time, TimeRange } from '../ui.js';
import { ConnectPanel } from './connect.js';
import { DeliveryTable } from './deliveries.js';
import { EndpointForm, formOf, masksOf } from './endpoint-form.js';
import { authLabel, endpointListRoutes } from './endpoints.js';

export function endpointIdOf(c: ConsoleContext): EndpointId {
  const id = parseId('endpoint', c.req.param('id') ?? '');
  if (!id)
    throw new ValidationError('not_found', `There is no endpoint ${c.req.param('id') ?? ''}`);
  return id;
}

function Action(props: {
  action: string;
  label: string;
  session: Session;
  fields?: Record<string, string>;
  confirm?: string;
  tone?: 'secondary' | 'danger';
}) {
  return (
    <form method="post" action={props.action} data-confirm={props.confirm}>
      <Csrf session={props.session} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class={props.tone ?? 'secondary'}>
        {props.label}
      </button>
    </form>
  );
}

/** The result panel of an action shown on the page it returns (never with a secret). */
export interface Outcome {
  readonly title: string;
  readonly ok: boolean;
  readonly body: Child;
}

async function detail(c: ConsoleContext, deps: ConsoleDeps, outcome?: Outcome, status = 200) {
  const { services } = deps;
  const accountId = accountOf(c);
  const session = c.get('session');
  const endpoint = await services.endpoints.get(accountId, endpointIdOf(c));
  const presented = presentEndpoint(endpoint) as { signing: { secrets: number } };
  const [health, recent, tokenState] = await Promise.all([
    services.overview.health(accountId, [endpoint]),
    services.deliveries.list({ accountId, endpointId: endpoint.id }, null, 10),
    usesTokens(endpoint) ? services.tokens.state(accountId, endpoint.id) : null,
  ]);
  const view = health[0]!;
  const a = view.activity;
  const base = `/console/endpoints/${endpoint.id}`;
  const o = endpoint.options;
  const now = deps.clock();
  return c.html(
    <Page title={endpoint.url} section="endpoints" chrome={await chromeOf(c, deps)}>
      <p>
        <a href="/console/endpoints">Endpoints</a> /
      </p>
      <h1 class="mono">{endpoint.url}</h1>
      <p class="actions">
        <Badge value={endpoint.state} />
        {tracksAuthStatus(endpoint) ? <Badge value={endpoint.authStatus} /> : null}
        {view.attention.includes('failing') ? <Badge value="failing" /> : null}
      </p>
      {outcome ? (
        <section
          class={`notice ${outcome.ok ? 'ok' : 'error'}`}
          role={outcome.ok ? 'status' : 'alert'}
          id="outcome"
        >
          <h2>{outcome.title}</h2>
          {outcome.body}
        </section>
      ) : null}
      {endpoint.authStatus === 'reauthorization_required' ? (
        <p class="notice error" role="alert">
          Its credentials were refused by the authorization server: deliveries are held until it is
          reconnected
          {connectable(endpoint) ? ' (Reconnect below)' : ' (replace its credentials below)'}.
        </p>
      ) : null}
      <div class="actions">
        <a class="button" href={`${base}/edit`}>
          Edit
        </a>
        {endpoint.state === 'enabled' ? (
          <Action
            action={`${base}/state`}
            label="Disable"
            session={session}
            fields={{ state: 'disabled' }}
            confirm="Disable this endpoint? Its events will be held until it is enabled."
          />
        ) : (
          <Action
            action={`${base}/state`}
            label="Enable"
            session={session}
            fields={{ state: 'enabled' }}
          />
        )}
        <Action action={`${base}/test`} label="Send test event" session={session} />
        <Action
          action={`${base}/delete`}
          label="Delete"
          session={session}
          tone="danger"
          confirm="Delete this endpoint with all its deliveries? This cannot be undone."
        />
      </div>

      <section class="card" aria-labelledby="about">
        <h2 id="about">About</h2>
        <Facts
          items={[
            ['Id', <code>{endpoint.id}</code>],
            ['Description', endpoint.description ?? '—'],
            ['OneSpan slot', endpoint.origin ?? '— (native endpoint)'],
            ['Events', endpoint.events.length === 0 ? 'none' : endpoint.events.join(', ')],
            [
              'Auth',
              `${authLabel(endpoint)}${tracksAuthStatus(endpoint) ? ` · ${endpoint.authStatus}` : ''}`,
            ],
            [
              'Custom headers',
              endpoint.customHeaders.length === 0
                ? 'none'
                : endpoint.customHeaders.map((h) => `${h.key}: ${h.value}`).join('; '),
            ],
            [
              'Signing',
              presented.signing.secrets > 0
                ? `on (${presented.signing.secrets} secret${presented.signing.secrets > 1 ? 's' : ''})`
                : 'off',
            ],
            ['Timeout', formatMs(o.timeoutMs)],
            ['Max concurrency', String(o.maxConcurrency)],
            ['Rate limit', o.rateLimit === null ? 'none' : `${o.rateLimit} per second`],
            ['Ordering', o.ordering === 'package' ? 'one at a time per package' : 'in parallel'],
            [
              'Retry schedule',
              o.retrySchedule ? o.retrySchedule.map(formatDuration).join(', ') : "the server's",
            ],
            ['Disabled because', endpoint.disabledReason ?? '—'],
            ['Failing since', <Time at={endpoint.failingSince} />],
            ['Created', <Time at={endpoint.createdAt} />],
            ['Changed', <Time at={endpoint.updatedAt} />],
          ]}
        />
      </section>

      <section class="card" aria-labelledby="health">
        <h2 id="health">Health, last 24 hours</h2>
        {a ? (
          <Facts
            items={[
              [
                'Success rate',
                view.successRate === null ? '—' : `${Math.round(view.successRate * 1000) / 10} %`,
              ],
              ['Succeeded', String(a.succeeded)],
              ['Retried', String(a.retried)],
              ['Failed (gave up)', String(a.failed)],
              [
                'Last error',
                a.lastError ? (
                  <span>
                    {a.lastError} (<Time at={a.lastErrorAt} />)
                  </span>
                ) : (
                  '—'
                ),
              ],
            ]}
          />
        ) : (
          <p>No attempts in the last 24 hours.</p>
        )}
      </section>

      <section class="card" aria-labelledby="secrets">
        <h2 id="secrets">Secrets</h2>
        <p>Secrets are write-only: Herald shows only their last characters.</p>
        {endpoint.authType === 'BASIC' ? (
          <form method="post" action={`${base}/credentials`} class="inline">
            <Csrf session={session} />
            <Field
              id="new-key"
              label="Replace callback key"
              hint={`stored: ${masksOf(endpoint).key ?? 'none'}`}
            >
              <input id="new-key" name="key" type="password" autocomplete="off" required />
            </Field>
            <button type="submit">Replace</button>
          </form>
        ) : null}
        {usesTokens(endpoint) ? (
          <form method="post" action={`${base}/credentials`} class="stack">
            <Csrf session={session} />
            <Field
              id="new-client-secret"
              label="Replace client secret"
              hint={`stored: ${masksOf(endpoint).clientSecret ?? 'none'}`}
            >
              <input
                id="new-client-secret"
                name="clientSecret"
                type="password"
                autocomplete="off"
              />
            </Field>
            {endpoint.oauth?.grantType === 'REFRESH_TOKEN' ? (
              <Field
                id="new-refresh-token"
                label="Replace refresh token"
                hint={`stored: ${masksOf(endpoint).refreshToken ?? 'none'}`}
              >
                <input
                  id="new-refresh-token"
                  name="refreshToken"
                  type="password"
                  autocomplete="off"
                />
              </Field>
            ) : null}
            <div>
              <button type="submit">Replace credentials</button>
            </div>
          </form>
        ) : null}
        <h3>Signing secret</h3>
        <div class="actions">
          <Action
            action={`${base}/signing-secret`}
            label={presented.signing.secrets > 0 ? 'Rotate signing secret' : 'Turn signing on'}
            session={session}
            confirm={
              presented.signing.secrets > 0
                ? 'Make a new signing secret? The current one stays valid for 24 hours.'
                : undefined
            }
          />
        </div>
      </section>

      {usesTokens(endpoint) ? (
        <section class="card" aria-labelledby="tokens">
          <h2 id="tokens">OAuth token</h2>
          <Facts
            items={[
              ['Status', <Badge value={endpoint.authStatus} />],
              ['Token URL', <code>{endpoint.oauth?.tokenUrl}</code>],
              ['Client id', <code>{endpoint.oauth?.clientId}</code>],
              ['Access token', tokenState?.hasAccessToken ? 'held' : 'none yet'],
              ['Last refresh', tokenState ? <Time at={tokenState.updatedAt} /> : 'never'],
              [
                'Expires',
                tokenState?.expiresAt ? (
                  <Time at={tokenState.expiresAt} />
                ) : (
                  'when the listener says so (no expiry given)'
                ),
              ],
              ['Refreshes stored', tokenState ? String(tokenState.generation) : '0'],
              ['Refused because', tokenState?.deadReason ?? '—'],
            ]}
          />
          <div class="actions">
            <Action action={`${base}/token/test`} label="Test" session={session} />
            <Action action={`${base}/token/refresh`} label="Refresh" session={session} />
            <Action action={`${base}/token/introspect`} label="Introspect" session={session} />
            <Action
              action={`${base}/token/revoke`}
              label="Revoke"
              session={session}
              tone="danger"
              confirm="Revoke this credential at the authorization server? Deliveries will be held until it is reconnected."
            />
          </div>
        </section>
      ) : null}

      {connectable(endpoint) ? <ConnectPanel c={c} deps={deps} endpoint={endpoint} /> : null}

      <section class="card" aria-labelledby="recover">
        <h2 id="recover">Recover deliveries</h2>
        <p>
          Delivers again every failed or held delivery of this endpoint created in the range (UTC).
        </p>
        <form method="post" action={`${base}/recover`} class="inline">
          <Csrf session={session} />
          <TimeRange prefix="recover" since={now - 24 * 3600_000} until={undefined} required />
          <button type="submit">Recover</button>
        </form>
      </section>

      <section class="card" aria-labelledby="recent">
        <h2 id="recent">Latest deliveries</h2>
        <DeliveryTable deliveries={recent.data} endpoints={new Map([[endpoint.id, endpoint]])} />
        <p>
          <a href={`/console/deliveries?endpoint=${endpoint.id}`}>
            All deliveries of this endpoint
          </a>
        </p>
      </section>
    </Page>,
    status as 200,
  );
}

function Lines(props: { items: ReadonlyArray<readonly [string, Child]> }) {
  return <Facts items={props.items} />;
}

/** What `POST .../token/introspect` answered, minus anything shaped like a token. */
function introspection(result: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(result)
    .filter(([k]) => !/token|secret|assertion/i.test(k))
    .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

async function editPage(
  c: ConsoleContext,
  deps: ConsoleDeps,
  endpoint: Endpoint,
  values: Form,
  refusal?: { message: string; problems: readonly FieldProblem[] },
) {
  return c.html(
    <Page title="Edit endpoint" section="endpoints" chrome={await chromeOf(c, deps)}>
      <p>
        <a href="/console/endpoints">Endpoints</a> /{' '}
        <a href={`/console/endpoints/${endpoint.id}`} class="mono">
          {endpoint.url}
        </a>{' '}
        /
      </p>
      <h1>Edit endpoint</h1>
      <EndpointForm
        action={`/console/endpoints/${endpoint.id}/edit`}
        submit="Save changes"
        session={c.get('session')}
        values={values}
        masks={masksOf(endpoint)}
        error={refusal?.message}
        problems={refusal?.problems}
      />
    </Page>,
    refusal ? 400 : 200,
  );
}

export function endpointRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { services } = deps;
  // The list and /endpoints/new first: `new` is no endpoint id.
  endpointListRoutes(app, deps);

  app.get('/endpoints/:id', (c) => detail(c, deps));

  app.get('/endpoints/:id/edit', async (c) => {
    const endpoint = await services.endpoints.get(accountOf(c), endpointIdOf(c));
    return editPage(c, deps, endpoint, formOf(endpoint));
  });

  app.post('/endpoints/:id/edit', async (c) => {
    const accountId = accountOf(c);
    const id = endpointIdOf(c);
    const current = await services.endpoints.get(accountId, id);
    const form = await readForm(c);
    const masks = masksOf(current);
    try {
      const body = EndpointPatchSchema.parse(endpointBody(form, (field) => masks[field]));
      await services.endpoints.update(accountId, id, patchFromBody(body, current));
    } catch (error) {
      const refusal = formRefusal(error);
      if (!refusal) throw error;
      return editPage(c, deps, current, form, refusal);
    }
    return seeOther(c, deps, `/console/endpoints/${id}`, { kind: 'ok', text: 'Saved.' });
  });

  app.post('/endpoints/:id/state', async (c) => {
    const id = endpointIdOf(c);
    const state = text(await readForm(c), 'state') === 'enabled' ? 'enabled' : 'disabled';
    await services.endpoints.setState(accountOf(c), id, state);
    return seeOther(c, deps, `/console/endpoints/${id}`, {
      kind: 'ok',
      text:
        state === 'enabled'
          ? 'Enabled: held deliveries are on their way.'
          : 'Disabled: new events are held until you enable it.',
    });
  });

  app.post('/endpoints/:id/test', async (c) => {
    const result = await services.tester.test(accountOf(c), endpointIdOf(c), {});
    return detail(c, deps, {
      title: result.ok ? 'Test event delivered' : 'Test event not delivered',
      ok: result.ok,
      body: (
        <Lines
          items={[
            ['Status code', result.statusCode === null ? '—' : String(result.statusCode)],
            ['Took', formatMs(result.durationMs)],
            ['Error', result.error ?? '—'],
            [
              'Response',
              result.responseBody ? <pre>{result.responseBody.slice(0, 2000)}</pre> : '—',
            ],
          ]}
        />
      ),
    });
  });

  app.post('/endpoints/:id/signing-secret', async (c) => {
    const secret = await services.endpoints.rotateSigningSecret(accountOf(c), endpointIdOf(c));
    return detail(c, deps, {
      title: 'New signing secret',
      ok: true,
      body: (
        <div class="secret-once">
          <p>Copy it now: it is shown this once. The previous secret stays valid for 24 hours.</p>
          <p>
            <code id="signing-secret">{secret}</code>
          </p>
        </div>
      ),
    });
  });

  app.post('/endpoints/:id/credentials', async (c) => {
    const id = endpointIdOf(c);
    const form = await readForm(c);
    const pick = (name: string) => text(form, name) || undefined;
    try {
      await services.endpoints.replaceCredentials(accountOf(c), id, {
        key: pick('key'),
        clientSecret: pick('clientSecret'),
        refreshToken: pick('refreshToken'),
      });
    } catch (error) {
      const refusal = formRefusal(error);
      if (!refusal) throw error;
      return seeOther(c, deps, `/console/endpoints/${id}`, {
        kind: 'error',
        text: refusal.message,
      });
    }
    return seeOther(c, deps, `/console/endpoints/${id}`, {
      kind: 'ok',
      text: 'Credentials replaced: held deliveries are on their way.',
    });
  });

  app.post('/endpoints/:id/token/:action', async (c) => {
    const accountId = accountOf(c);
    const id = endpointIdOf(c);
    const action = c.req.param('action');
    switch (action) {
      case 'test':
      case 'refresh': {
        const report = await services.tokens.refresh(accountId, id, action === 'test');
        return detail(c, deps, {
          title: report.ok
            ? action === 'test'
              ? 'The credential works'
              : 'Token refreshed'
            : 'The token request was refused',
          ok: report.ok,
          body: (
            <Lines
              items={[
                ['Error', report.error ?? '—'],
                ['Instance', report.instanceUrl ?? '—'],
                ['Scope', report.scope ?? '—'],
                [
                  'Refresh token rotated',
                  report.ok ? (report.rotated ? 'yes (the new one is stored)' : 'no') : '—',
                ],
                ['User', report.identity?.username ?? '—'],
              ]}
            />
          ),
        });
      }
      case 'introspect': {
        const result = await services.tokens.introspect(accountId, id);
        return detail(c, deps, {
          title: 'Introspection',
          ok: result.active === true,
          body: <Lines items={introspection(result)} />,
        });
      }
      case 'revoke': {
        const { result } = await services.tokens.revoke(accountId, id);
        return seeOther(c, deps, `/console/endpoints/${id}`, {
          kind: 'ok',
          text: `${result === 'revoked' ? 'Revoked' : 'The server no longer knew the token'}: deliveries are held until the endpoint is reconnected.`,
        });
      }
      default:
        throw new ValidationError('not_found', `There is no token action ${action}`);
    }
  });

  app.post('/endpoints/:id/recover', async (c) => {
    const id = endpointIdOf(c);
    const form = await readForm(c);
    let range;
    try {
      range = timeRangeOf(text(form, 'since'), text(form, 'until'));
      if (range.since === undefined)
        throw new ValidationError('validation_failed', 'From is required');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return seeOther(c, deps, `/console/endpoints/${id}`, { kind: 'error', text: error.message });
    }
    const since = range.since;
    const until = range.until ?? deps.clock() + 1;
    if (until <= since) {
      return seeOther(c, deps, `/console/endpoints/${id}`, {
        kind: 'error',
        text: 'Until must be after From.',
      });
    }
    const count = await services.endpoints.recover(accountOf(c), id, since, until);
    return seeOther(c, deps, `/console/endpoints/${id}`, {
      kind: 'ok',
      text:
        count === 0
          ? 'Nothing to recover: no failed or held deliveries in that range.'
          : `Recovering ${count} deliveries: they are due now.`,
    });
  });

  app.post('/endpoints/:id/delete', async (c) => {
    await services.endpoints.delete(accountOf(c), endpointIdOf(c));
    return seeOther(c, deps, '/console/endpoints', { kind: 'ok', text: 'Endpoint deleted.' });
  });
}
