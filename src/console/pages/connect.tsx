// Connect (or Reconnect) Salesforce from an endpoint's page: the Web Server flow with PKCE S256
// and a random state (services/web-connect.ts), the redirect coming back to
// `{console}/oauth/callback`.
//
// 1. POST .../connect (same site, with the session and its CSRF token) begins the flow, seals
//    state, PKCE verifier and the session's id into a SameSite=Lax cookie scoped to /console/oauth,
//    and sends the browser to the login page (by a page, not a redirect: CSP's form-action would
//    stop a form whose answer redirects to another site).
// 2. GET /oauth/callback arrives from the authorization server: a cross-site navigation, so the
//    SameSite=Strict session cookie is not sent, but the Lax flow cookie is. The state is checked
//    against it, and the answer kept in it; nothing is exchanged yet.
// 3. That page moves on by itself to GET /oauth/finish: now a same-site navigation, so the
//    session cookie is sent. The flow must belong to this session and account; then the code is
//    exchanged and the refresh token stored as `PUT /v1/endpoints/{id}/credentials` would, which
//    releases the endpoint's held deliveries. Refusals are shown in words.

import type { Context, Hono } from 'hono';
import type { Endpoint } from '../../domain/endpoint.js';
import { parseId, type AccountId } from '../../domain/ids.js';
import { NotFoundError } from '../../errors.js';
import { loginUrlOf, type PendingConnect } from '../../services/web-connect.js';
import {
  accountOf,
  consoleBase,
  seeOther,
  type ConsoleContext,
  type ConsoleDeps,
  type ConsoleEnv,
} from '../context.js';
import { chosenLoginUrl, formRefusal, readForm } from '../forms.js';
import { Csrf, Document, MessagePage } from '../layout.js';
import { FLOW_LIFETIME_MS } from '../session.js';
import { LoginChoice } from './endpoint-form.js';
import { createdPage } from './created.js';

const CALLBACK_PATH = '/oauth/callback';

export function redirectUriOf(c: Context, deps: ConsoleDeps): string {
  return `${consoleBase(c, deps.publicUrl)}${CALLBACK_PATH}`;
}

export function ConnectPanel(props: { c: ConsoleContext; deps: ConsoleDeps; endpoint: Endpoint }) {
  const { endpoint } = props;
  const reconnect = endpoint.authStatus === 'reauthorization_required';
  return (
    <section class="card" aria-labelledby="connect">
      <h2 id="connect">Salesforce connection</h2>
      <p>
        {reconnect
          ? 'The grant was refused: log in to Salesforce again to give Herald a new refresh token. The held deliveries go out as soon as it is stored.'
          : 'Log in to Salesforce and allow access: Herald stores the refresh token it gets (the Web Server flow with PKCE).'}
      </p>
      <p>
        The Connected App must list this callback URL exactly:{' '}
        <code id="redirect-uri">{redirectUriOf(props.c, props.deps)}</code>
      </p>
      <form method="post" action={`/console/endpoints/${endpoint.id}/connect`} class="stack">
        <Csrf session={props.c.get('session')} />
        <LoginChoice current={loginUrlOf(endpoint)} />
        <p class="hint">
          Each Salesforce user keeps at most 5 approvals per app: a sixth revokes the oldest refresh
          token.
        </p>
        <div>
          <button type="submit" id="connect-button">
            {reconnect ? 'Reconnect' : 'Connect'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** A page that moves on by itself (meta refresh: no script) and says where to, for everyone. */
function MoveOn(props: { deps: ConsoleDeps; title: string; to: string; text: string }) {
  return (
    <Document
      title={props.title}
      assets={props.deps.assets}
      head={<meta http-equiv="refresh" content={`0;url=${props.to}`} />}
    >
      <main id="content">
        <h1>{props.title}</h1>
        <p>
          {props.text} <a href={props.to}>Continue</a>
        </p>
      </main>
    </Document>
  );
}

function Refused(props: { deps: ConsoleDeps; text: string }) {
  return (
    <MessagePage
      assets={props.deps.assets}
      title="Not connected"
      text={props.text}
      back={{ href: '/console/endpoints', label: 'Back to the endpoints' }}
    />
  );
}

/** Keeps the begun flow in the session-bound Lax cookie and sends the browser to log in. */
export function goToLogin(
  c: ConsoleContext,
  deps: ConsoleDeps,
  begun: { readonly url: string; readonly pending: PendingConnect },
) {
  deps.cookies.saveFlow(c, {
    ...begun.pending,
    sid: c.get('session').sid,
    exp: deps.clock() + FLOW_LIFETIME_MS,
  });
  return c.html(
    <MoveOn
      deps={deps}
      title="Log in to Salesforce"
      to={begun.url}
      text="Taking you to the login page…"
    />,
  );
}

/** The way back from the authorization server: no session cookie here, only the flow's. */
export function oauthCallbackRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get(CALLBACK_PATH, (c) => {
    const flow = deps.cookies.flow(c);
    if (!flow) {
      return c.html(
        <Refused
          deps={deps}
          text="This login is unknown here or took longer than 10 minutes. Start again with Connect on the endpoint's page."
        />,
        400,
      );
    }
    const query = new URL(c.req.url).searchParams;
    if (query.get('state') !== flow.state) {
      deps.cookies.endFlow(c);
      return c.html(
        <Refused
          deps={deps}
          text="The answer from the login page does not belong to the login started here (its state differs), so nothing was done. Start again with Connect."
        />,
        400,
      );
    }
    deps.cookies.saveFlow(c, { ...flow, redirect: query.toString() });
    return c.html(
      <MoveOn
        deps={deps}
        title="Finishing the connection"
        to="/console/oauth/finish"
        text="Storing the new credentials…"
      />,
    );
  });
}

export function connectRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { services, cookies } = deps;

  app.post('/endpoints/:id/connect', async (c) => {
    const accountId = accountOf(c);
    const id = parseId('endpoint', c.req.param('id'));
    if (!id) throw new NotFoundError('Endpoint', c.req.param('id'));
    const loginUrl = chosenLoginUrl(await readForm(c));
    const back = (message: string) =>
      seeOther(c, deps, `/console/endpoints/${id}`, { kind: 'error', text: message });
    if (loginUrl === '') return back('Enter the My Domain URL, or choose production or sandbox.');
    let begun;
    try {
      begun = await services.connect.begin(accountId, id, loginUrl, redirectUriOf(c, deps));
    } catch (error) {
      const refusal = formRefusal(error);
      if (!refusal) throw error;
      return back(refusal.message);
    }
    return goToLogin(c, deps, begun);
  });

  app.get('/oauth/finish', async (c) => {
    const session = c.get('session');
    const flow = cookies.flow(c);
    const endpointPage = (id: string) => `/console/endpoints/${id}`;
    if (!flow || flow.redirect === undefined) {
      return seeOther(c, deps, '/console/endpoints', {
        kind: 'error',
        text: 'There is no login to finish (it took longer than 10 minutes, or was finished already). Start again with Connect.',
      });
    }
    cookies.endFlow(c);
    if (flow.sid !== session.sid || flow.accountId !== (session.accountId as AccountId | null)) {
      return seeOther(c, deps, '/console/endpoints', {
        kind: 'error',
        text: 'That login was started in another console session, so nothing was stored. Start again with Connect.',
      });
    }
    const redirect = new URL(`${consoleBase(c, deps.publicUrl)}${CALLBACK_PATH}?${flow.redirect}`);
    const outcome = await services.connect.complete(flow, redirect);
    const connected = (instanceUrl: string | undefined) =>
      `Connected${instanceUrl ? ` to ${instanceUrl}` : ''}: the refresh token is stored`;
    if (!outcome.ok) {
      const back = flow.endpointId ? endpointPage(flow.endpointId) : '/console/endpoints/new';
      return seeOther(c, deps, back, { kind: 'error', text: outcome.message });
    }
    if (flow.endpointId === null) {
      return createdPage(
        c,
        deps,
        outcome.endpoint,
        outcome.signingSecret,
        `${connected(outcome.instanceUrl)}, and Herald delivers to it from now on.`,
      );
    }
    return seeOther(c, deps, endpointPage(flow.endpointId), {
      kind: 'ok',
      text: `${connected(outcome.instanceUrl)} and held deliveries are on their way.`,
    });
  });
}
