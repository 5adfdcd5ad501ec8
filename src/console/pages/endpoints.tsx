// Endpoints: the list (URL, events, auth type and status, state, health over the last day) and
// a new endpoint's form. Creating one shows its signing secret, once.

import type { Hono } from 'hono';
import { ValidationError, type FieldProblem } from '../../errors.js';
import { tracksAuthStatus } from '../../domain/auth-types.js';
import type { Endpoint } from '../../domain/endpoint.js';
import { draftFromBody } from '../../services/drafts.js';
import type { EndpointHealthView } from '../../services/overview.js';
import { EndpointCreateSchema } from '../../services/schemas.js';
import { chromeOf } from '../chrome.js';
import { accountOf, type ConsoleContext, type ConsoleDeps, type ConsoleEnv } from '../context.js';
import { chosenLoginUrl, endpointBody, formRefusal, readForm, text, type Form } from '../forms.js';
import { Page } from '../layout.js';
import { Badge, formatCount, Table } from '../ui.js';
import { goToLogin, redirectUriOf } from './connect.js';
import { createdPage } from './created.js';
import { EndpointForm, NEW_ENDPOINT_FORM } from './endpoint-form.js';

export function authLabel(e: Endpoint): string {
  if (e.authType === 'NONE') return 'none';
  if (e.authType === 'BASIC') return 'Basic key';
  const grant = e.oauth?.grantType === 'REFRESH_TOKEN' ? 'refresh token' : 'client credentials';
  return `OAuth 2.0, ${grant}${e.oauth?.flavor === 'salesforce' ? ' (Salesforce)' : ''}`;
}

function eventsText(events: readonly string[]): string {
  if (events.includes('*')) return 'all events';
  if (events.length === 0) return 'none';
  return events.length > 3
    ? `${events.slice(0, 3).join(', ')} and ${events.length - 3} more`
    : events.join(', ');
}

function Health(props: { view: EndpointHealthView }) {
  const { view } = props;
  if (view.successRate === null) return <span class="hint">no attempts in 24 h</span>;
  const a = view.activity!;
  return (
    <span>
      {Math.round(view.successRate * 1000) / 10} % of{' '}
      {formatCount(a.succeeded + a.retried + a.failed)}
      {a.lastError ? (
        <>
          <br />
          <span class="hint">last error: {a.lastError}</span>
        </>
      ) : null}
    </span>
  );
}

function EndpointTable(props: { views: readonly EndpointHealthView[] }) {
  if (props.views.length === 0) {
    return (
      <p>
        No endpoints yet. <a href="/console/endpoints/new">Add an endpoint</a> to start delivering
        events.
      </p>
    );
  }
  return (
    <Table head={['Listener URL', 'Events', 'Auth', 'State', 'Health (24 h)']}>
      {props.views.map(({ endpoint: e, ...view }) => (
        <tr>
          <td>
            <a href={`/console/endpoints/${e.id}`} class="mono">
              {e.url}
            </a>
            {e.description ? <div class="hint">{e.description}</div> : null}
          </td>
          <td>{eventsText(e.events)}</td>
          <td>
            {authLabel(e)}
            {tracksAuthStatus(e) ? (
              <>
                {' '}
                <Badge value={e.authStatus} />
              </>
            ) : null}
          </td>
          <td>
            <Badge value={e.state} />
            {view.attention.includes('failing') ? (
              <>
                {' '}
                <Badge value="failing" />
              </>
            ) : null}
          </td>
          <td>
            <Health view={{ endpoint: e, ...view }} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

async function newForm(
  c: ConsoleContext,
  deps: ConsoleDeps,
  values: Form,
  refusal?: { message: string; problems: readonly FieldProblem[] },
) {
  return c.html(
    <Page title="New endpoint" section="endpoints" chrome={await chromeOf(c, deps)}>
      <h1>New endpoint</h1>
      <EndpointForm
        action="/console/endpoints"
        submit="Create endpoint"
        session={c.get('session')}
        values={values}
        masks={{}}
        error={refusal?.message}
        problems={refusal?.problems}
        connectCallback={redirectUriOf(c, deps)}
      />
    </Page>,
    refusal ? 400 : 200,
  );
}

/**
 * A new Salesforce endpoint made by logging in: the rest of the form is checked as creating it
 * would, then the browser goes to the login page; the endpoint is created when it comes back.
 */
async function connectNew(c: ConsoleContext, deps: ConsoleDeps, form: Form) {
  const accountId = accountOf(c);
  try {
    const { auth, ...draft } = draftFromBody(
      EndpointCreateSchema.parse(endpointBody({ ...form, authType: 'NONE' }, () => undefined)),
    );
    void auth; // made when the grant arrives
    const loginUrl = chosenLoginUrl(form);
    if (loginUrl === '') {
      throw new ValidationError(
        'validation_failed',
        'Enter the My Domain URL, or choose production or sandbox',
      );
    }
    const begun = await deps.services.connect.beginNew(
      accountId,
      {
        draft,
        clientId: text(form, 'sfClientId'),
        clientSecret: text(form, 'sfClientSecret') || undefined,
      },
      loginUrl,
      redirectUriOf(c, deps),
    );
    return goToLogin(c, deps, begun);
  } catch (error) {
    const refusal = formRefusal(error);
    if (!refusal) throw error;
    return newForm(c, deps, form, refusal);
  }
}

export function endpointListRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { services } = deps;

  app.get('/endpoints', async (c) => {
    const accountId = accountOf(c);
    const views = await services.overview.health(
      accountId,
      await services.endpoints.list(accountId),
    );
    const table = (
      <div
        id="endpoint-list"
        hx-get="/console/endpoints?fragment=1"
        hx-trigger="every 15s"
        hx-swap="outerHTML"
      >
        <EndpointTable views={views} />
      </div>
    );
    if (c.req.query('fragment') !== undefined && c.req.header('hx-request') === 'true')
      return c.html(table);
    return c.html(
      <Page title="Endpoints" section="endpoints" chrome={await chromeOf(c, deps)}>
        <h1>Endpoints</h1>
        <p class="actions">
          <a class="button" href="/console/endpoints/new">
            Add endpoint
          </a>
        </p>
        {table}
      </Page>,
    );
  });

  app.get('/endpoints/new', (c) => {
    accountOf(c);
    return newForm(c, deps, NEW_ENDPOINT_FORM);
  });

  app.post('/endpoints', async (c) => {
    const accountId = accountOf(c);
    const form = await readForm(c);
    if (text(form, 'authType') === 'SALESFORCE_CONNECT') return connectNew(c, deps, form);
    let created;
    try {
      const body = EndpointCreateSchema.parse(endpointBody(form, () => undefined));
      created = await services.endpoints.create(accountId, null, draftFromBody(body));
    } catch (error) {
      const refusal = formRefusal(error);
      if (!refusal) throw error;
      return newForm(c, deps, form, refusal);
    }
    return createdPage(
      c,
      deps,
      created.endpoint,
      created.signingSecret,
      `Herald now delivers to ${created.endpoint.url}.`,
    );
  });
}
