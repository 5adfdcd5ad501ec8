// The web console, mounted by the API server at /console/. Server-rendered pages (hono/jsx) over
// the same services as the API, with htmx and uPlot as the only script besides its own file.
//
// Every answer carries a Content-Security-Policy without inline script, frame-ancestors 'none'
// and X-Frame-Options DENY. Pages need a session (session.ts); every state-changing request
// needs the session's CSRF token and, when the browser says where it came from, this origin.

import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { ZodError } from 'zod';
import { HeraldError } from '../errors.js';
import { isStoreUnavailable } from '../domain/store-unavailable.js';
import type { ConsoleDeps, ConsoleEnv } from './context.js';
import { MessagePage } from './layout.js';
import { accountRoutes } from './pages/accounts.js';
import { connectRoutes, oauthCallbackRoutes } from './pages/connect.js';
import { deliveryRoutes } from './pages/deliveries.js';
import { endpointRoutes } from './pages/endpoint.js';
import { eventRoutes } from './pages/events.js';
import { overviewRoutes } from './pages/overview.js';
import { signInRoutes, signOutRoutes } from './pages/sign-in.js';
import type { Logger } from '../observability/logger.js';
import type { Services } from '../services/index.js';
import type { SecretBox } from '../services/secret-box.js';
import { Assets } from './assets.js';
import { CookieJar, sameToken, SignInLimiter } from './session.js';

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

const FORM_LIMIT_BYTES = 64 * 1024;

function ErrorPage(props: { deps: ConsoleDeps; status: number; text: string }) {
  const title =
    props.status === 404
      ? 'Not found'
      : props.status === 403
        ? 'Not allowed'
        : props.status === 401
          ? 'Signed out'
          : 'Something went wrong';
  return (
    <MessagePage
      assets={props.deps.assets}
      title={title}
      text={props.text}
      back={{ href: '/console/', label: 'Back to the console' }}
    />
  );
}

/** A state-changing request that a browser says came from another site. */
function crossSite(c: Context, publicUrl: string | null): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = c.req.header('origin');
  if (origin === undefined || origin === 'null') return origin === 'null';
  const own = new URL(c.req.url).origin;
  return origin !== own && (publicUrl === null || origin !== new URL(publicUrl).origin);
}

export interface ConsoleOptions {
  readonly services: Services;
  readonly clock: () => number;
  /** Seals the console's cookies: derived from the master key, the same in every process. */
  readonly box: SecretBox;
  readonly sessionMs: number;
  readonly publicUrl: string | null;
  readonly logger: Logger;
  readonly version: string;
}

/** The console app, to be mounted at /console. */
export function createConsole(options: ConsoleOptions): Hono<ConsoleEnv> {
  const deps: ConsoleDeps = {
    ...options,
    cookies: new CookieJar(
      options.box,
      options.publicUrl?.startsWith('https:') ?? false,
      options.clock,
    ),
    limiter: new SignInLimiter(options.clock),
    assets: new Assets('/console/assets'),
  };
  const app = new Hono<ConsoleEnv>();
  const { cookies, services } = deps;

  const page = (c: Context, status: number, text: string) =>
    c.html(<ErrorPage deps={deps} status={status} text={text} />, status as 400);

  app.onError((error, c) => {
    if (error instanceof HeraldError) return page(c, error.status, error.message);
    if (error instanceof ZodError) {
      return page(c, 400, error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    if (isStoreUnavailable(error)) {
      c.header('retry-after', '2');
      return page(c, 503, 'The store cannot be reached right now. Try again shortly.');
    }
    deps.logger.error({ err: error, path: c.req.path }, 'console request failed');
    return page(c, 500, 'Something went wrong on our side; nothing more was done.');
  });

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // How long the page took to make, for the browser's developer tools and bench/ (console).
    c.header('server-timing', `app;dur=${(performance.now() - started).toFixed(1)}`);
    c.header('content-security-policy', CSP);
    c.header('x-frame-options', 'DENY');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
    if (!c.res.headers.has('cache-control')) c.header('cache-control', 'no-store');
  });

  app.get(
    '/assets/:file',
    (c) => deps.assets.serve(c.req.param('file')) ?? page(c, 404, 'No such file'),
  );

  app.use(
    '*',
    bodyLimit({
      maxSize: FORM_LIMIT_BYTES,
      onError: (c) => page(c, 413, 'The form is larger than the console accepts (64 KiB).'),
    }),
  );
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && crossSite(c, deps.publicUrl)) {
      return page(c, 403, 'This form was sent from another site; nothing was done.');
    }
    return next();
  });

  signInRoutes(app, deps);
  oauthCallbackRoutes(app, deps);

  // Everything below needs a session that opens, has not expired, and whose key still counts.
  app.use(
    '*',
    createMiddleware<ConsoleEnv>(async (c, next) => {
      const found = cookies.session(c);
      const htmx = c.req.header('hx-request') === 'true';
      const away = (to: string) => {
        cookies.endSession(c);
        if (htmx) {
          c.header('hx-redirect', to);
          return c.body(null, 401);
        }
        return c.req.method === 'GET'
          ? c.redirect(to, 303)
          : page(c, 401, 'Your session has ended; sign in again. Nothing was done.');
      };
      if (!('session' in found)) {
        return away(found.expired ? '/console/sign-in?expired' : '/console/sign-in');
      }
      const session = found.session;
      const principal = await services.accounts.principalOfHash(session.keyHash);
      if (
        !principal ||
        principal.kind !== session.principal ||
        (principal.kind === 'account' && principal.accountId !== session.accountId)
      ) {
        return away('/console/sign-in');
      }
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        const header = c.req.header('x-csrf-token');
        let token = header;
        if (token === undefined) {
          const type = c.req.header('content-type') ?? '';
          if (
            type.startsWith('application/x-www-form-urlencoded') ||
            type.startsWith('multipart/form-data')
          ) {
            const form = await c.req.parseBody();
            token = typeof form._csrf === 'string' ? form._csrf : undefined;
          }
        }
        if (token === undefined || !sameToken(token, session.csrf)) {
          return page(
            c,
            403,
            'This form is out of date or did not come from this console (its security token does not match). Reload the page and try again; nothing was done.',
          );
        }
      }
      c.set('session', session);
      c.set('flash', c.req.method === 'GET' ? cookies.takeFlash(c) : undefined);
      return next();
    }),
  );

  signOutRoutes(app, deps);
  overviewRoutes(app, deps);
  endpointRoutes(app, deps);
  connectRoutes(app, deps);
  deliveryRoutes(app, deps);
  eventRoutes(app, deps);
  accountRoutes(app, deps);

  app.all('*', (c) => page(c, 404, `There is no page at ${c.req.path}.`));
  return app;
}
