// Drives the sandbox's login and consent pages over plain HTTP, as a person in a browser would:
// for `herald demo` (no browser needed) and for tests. Returns where the org redirects to.

export interface LoginDriverOptions {
  readonly username: string;
  readonly password: string;
  readonly decision: 'allow' | 'deny';
}

function pendingId(html: string, form: string): string {
  const section = html.slice(html.indexOf(`id="${form}"`));
  const match = /name="pending" value="([^"]+)"/.exec(section);
  if (!match) throw new Error(`sandbox page has no ${form}: ${html.slice(0, 200)}`);
  return match[1]!;
}

async function postForm(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

/** Logs in and answers the consent page; returns the redirect URL (the `Location`). */
export async function driveSandboxLogin(
  authorizeUrl: string,
  o: LoginDriverOptions,
): Promise<string> {
  const origin = new URL(authorizeUrl).origin;
  const start = await fetch(authorizeUrl, { redirect: 'manual' });
  if (start.status >= 300 && start.status < 400) return start.headers.get('location')!;
  const loginPage = await start.text();
  const afterLogin = await postForm(`${origin}/services/oauth2/authorize/login`, {
    pending: pendingId(loginPage, 'login-form'),
    username: o.username,
    password: o.password,
  });
  if (afterLogin.status >= 300 && afterLogin.status < 400)
    return afterLogin.headers.get('location')!;
  const consentPage = await afterLogin.text();
  const decided = await postForm(`${origin}/services/oauth2/authorize/consent`, {
    pending: pendingId(consentPage, 'consent-form'),
    decision: o.decision,
  });
  const location = decided.headers.get('location');
  if (!location)
    throw new Error(`the sandbox did not redirect after consent (HTTP ${decided.status})`);
  return location;
}
