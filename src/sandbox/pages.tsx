// Server-rendered pages of the authorization flow: login, consent and error. Plain forms, no
// script, and stable ids/names (#username, #password, #login, #allow, #deny) so both a headless
// browser and plain HTTP requests can drive them. hono/jsx escapes every interpolated value.

import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';

const LOGIN_ACTION = '/services/oauth2/authorize/login';
const CONSENT_ACTION = '/services/oauth2/authorize/consent';

const SCOPE_LABELS: Record<string, string> = {
  api: 'Manage user data via APIs (api)',
  refresh_token: 'Perform requests at any time (refresh_token, offline_access)',
  offline_access: 'Perform requests at any time (refresh_token, offline_access)',
  openid: 'Access unique user identifiers (openid)',
  id: 'Access the identity URL service (id, profile, email, address, phone)',
};

const STYLE = `
  body { font-family: system-ui, sans-serif; background: #f3f3f3; margin: 0; }
  main { max-width: 380px; margin: 64px auto; background: #fff; padding: 24px 32px;
         border: 1px solid #d8dde6; border-radius: 4px; }
  h1 { font-size: 1.3rem; } label { display: block; margin-top: 12px; font-size: .9rem; }
  input { width: 100%; box-sizing: border-box; padding: 8px; margin-top: 4px; }
  button { margin-top: 16px; padding: 8px 16px; } .error { color: #c23934; }
  .note { color: #54698d; font-size: .85rem; }
`;

function Layout(props: { title: string; children: Child }) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>{props.title} | Herald Sandbox</title>
          <style>{raw(STYLE)}</style>
        </head>
        <body>
          <main>{props.children}</main>
        </body>
      </html>
    </>
  );
}

export function LoginPage(props: { pendingId: string; username?: string; error?: string }) {
  return (
    <Layout title="Login">
      <h1>Log in to the Herald Sandbox</h1>
      {props.error ? (
        <p id="error" class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form id="login-form" method="post" action={LOGIN_ACTION}>
        <input type="hidden" name="pending" value={props.pendingId} />
        <label for="username">Username</label>
        <input id="username" name="username" type="text" value={props.username ?? ''} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" />
        <button id="login" name="login" type="submit">
          Log In
        </button>
      </form>
    </Layout>
  );
}

export function ConsentPage(props: {
  pendingId: string;
  username: string;
  appName: string;
  scopes: readonly string[];
}) {
  const labels = [...new Set(props.scopes.map((s) => SCOPE_LABELS[s] ?? s))];
  return (
    <Layout title="Allow Access?">
      <h1>Allow Access?</h1>
      <p>
        <strong>{props.appName}</strong> is asking to:
      </p>
      <ul id="scopes">
        {labels.map((label) => (
          <li>{label}</li>
        ))}
      </ul>
      <p class="note">
        Logged in as <span id="current-user">{props.username}</span>. Each user keeps at most a few
        approvals of an app; approving again may revoke the oldest one.
      </p>
      <form id="consent-form" method="post" action={CONSENT_ACTION}>
        <input type="hidden" name="pending" value={props.pendingId} />
        <button id="allow" name="decision" value="allow" type="submit">
          Allow
        </button>{' '}
        <button id="deny" name="decision" value="deny" type="submit">
          Deny
        </button>
      </form>
    </Layout>
  );
}

export function ErrorPage(props: { error: string; description: string }) {
  return (
    <Layout title="Error">
      <h1>Authorization error</h1>
      <p id="error" class="error">
        error=<span id="error-code">{props.error}</span>
      </p>
      <p id="error-description">{props.description}</p>
    </Layout>
  );
}
