// Sign in with an API key (an account's, or the operator's admin key), and sign out. Wrong keys
// get a plain message; many wrong keys from one address are slowed down (429 with a wait).

import type { Hono } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { hashKey } from '../../services/accounts.js';
import type { ConsoleDeps, ConsoleEnv, ConsoleContext } from '../context.js';
import { seeOther } from '../context.js';
import { Page } from '../layout.js';

function SignInPage(props: {
  deps: ConsoleDeps;
  message?: { kind: 'error' | 'info'; text: string } | undefined;
}) {
  return (
    <Page
      title="Sign in"
      section={null}
      chrome={{ assets: props.deps.assets, session: null, accounts: [], flash: undefined }}
    >
      <div class="signin card">
        <h1>Sign in to Herald</h1>
        <p>
          Use an account's API key, or the operator key (<code>HERALD_ADMIN_KEY</code>) to manage
          every account.
        </p>
        {props.message ? (
          <p
            id="sign-in-message"
            class={`notice ${props.message.kind}`}
            role={props.message.kind === 'error' ? 'alert' : 'status'}
          >
            {props.message.text}
          </p>
        ) : null}
        <form method="post" action="/console/sign-in" class="stack">
          <div class="field">
            <label for="api-key">API key</label>
            <input
              id="api-key"
              name="apiKey"
              type="password"
              autocomplete="current-password"
              required
              spellcheck={false}
            />
          </div>
          <div>
            <button type="submit">Sign in</button>
          </div>
        </form>
      </div>
    </Page>
  );
}

/** The client's address, for counting its wrong keys; requests without a socket share one. */
function clientOf(c: ConsoleContext): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function signInRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { cookies, limiter, services } = deps;

  app.get('/sign-in', (c) => {
    if ('session' in cookies.session(c)) return c.redirect('/console/', 303);
    const flash = cookies.takeFlash(c);
    const expired = c.req.query('expired') !== undefined;
    const message = expired
      ? { kind: 'info' as const, text: 'Your session has expired. Sign in again.' }
      : flash
        ? {
            kind: flash.kind === 'error' ? ('error' as const) : ('info' as const),
            text: flash.text,
          }
        : undefined;
    return c.html(<SignInPage deps={deps} message={message} />);
  });

  app.post('/sign-in', async (c) => {
    const client = clientOf(c);
    const wait = limiter.waitSeconds(client);
    if (wait > 0) {
      c.header('retry-after', String(wait));
      return c.html(
        <SignInPage
          deps={deps}
          message={{
            kind: 'error',
            text: `Too many sign-in attempts from your address. Wait ${wait} seconds and try again.`,
          }}
        />,
        429,
      );
    }
    const form = await c.req.parseBody();
    const key = typeof form.apiKey === 'string' ? form.apiKey.trim() : '';
    const principal = key === '' ? null : await services.accounts.principalOfHash(hashKey(key));
    if (!principal) {
      limiter.failed(client);
      return c.html(
        <SignInPage
          deps={deps}
          message={{
            kind: 'error',
            text:
              key === ''
                ? 'Enter an API key.'
                : 'That API key is not valid. Check it (it may have been revoked) and try again.',
          }}
        />,
        401,
      );
    }
    limiter.succeeded(client);
    cookies.startSession(
      c,
      {
        principal: principal.kind,
        keyHash: hashKey(key),
        accountId: principal.kind === 'account' ? principal.accountId : null,
      },
      deps.sessionMs,
    );
    return c.redirect('/console/', 303);
  });
}

/** Sign out: registered behind the session check, so it needs the CSRF token like any form. */
export function signOutRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.post('/sign-out', (c) => {
    deps.cookies.endSession(c);
    return seeOther(c, deps, '/console/sign-in', { kind: 'ok', text: 'You are signed out.' });
  });
}
