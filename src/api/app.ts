// The HTTP API: OneSpan-compatible `/api/callback`, native `/v1`, `/healthz`, `/readyz`, `/metrics`,
// `/openapi.json`. Thin: parse at the edge, call services, present the result.

import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '../observability/logger.js';
import { NO_TRACING, type Tracer } from '../observability/tracing.js';
import type { Services } from '../services/index.js';
import { AuthError } from '../errors.js';
import { bearerCheck } from './bearer.js';
import { json, type AppEnv } from './context.js';
import { openApiDocument } from './openapi.js';
import {
  dialectOf,
  errorAnswer,
  errorResponse,
  problem,
  storeUnavailable,
  STORE_RETRY_AFTER_SECONDS,
} from './problem.js';
import { requestMetrics } from './request-metrics.js';
import { accountRoutes } from './routes/accounts.js';
import { callbackRoutes } from './routes/callback.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { endpointRoutes } from './routes/endpoints.js';
import { eventRoutes } from './routes/events.js';

/** How long /readyz waits for the store's answer before calling it unreachable. */
const READY_CHECK_TIMEOUT_MS = 2000;

/** Whether the store completes one round trip within `timeoutMs`. */
async function storeAnswers(services: Services, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      services.storeCheck().then(
        () => true,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface AppOptions {
  readonly services: Services;
  readonly logger: Logger;
  readonly version: string;
  /** Serve the API routes (role all/api); workers serve only health and metrics. */
  readonly api: boolean;
  /** How long a publish body may take to arrive once admitted (plus an allowance per MiB). */
  readonly bodyTimeoutMs: number;
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  readonly metricsToken?: string | null;
  /** The web console, served at /console/ (roles all and api); built by main.ts. */
  readonly console?:
    { fetch: (request: Request, env?: unknown) => Response | Promise<Response> } | undefined;
  /** Traces; off when absent. */
  readonly tracer?: Tracer;
}

export function createApp({
  services,
  logger,
  version,
  api,
  bodyTimeoutMs,
  metricsToken = null,
  console: webConsole,
  tracer = NO_TRACING,
}: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestMetrics(services.metrics));
  app.onError((error, c) => errorResponse(error, c, logger));
  app.notFound((c) =>
    errorAnswer(
      { code: 'not_found', detail: `No route for ${c.req.method} ${c.req.path}` },
      dialectOf(c.req.path),
    ),
  );

  // Liveness: says only that this process answers, and which version it is (nothing about the
  // store or the machine, to anyone who asks).
  app.get('/healthz', (c) => {
    const ready = services.health().ready;
    return c.json({ status: ready ? 'ok' : 'unavailable', version }, ready ? 200 : 503);
  });
  // Readiness: whether this process can do its work now, that is whether the store answers.
  app.get('/readyz', async (c) => {
    if (!services.health().ready) {
      return problem('not_ready', 'Herald is starting or shutting down', undefined, {
        'retry-after': String(STORE_RETRY_AFTER_SECONDS),
      });
    }
    if (!(await storeAnswers(services, READY_CHECK_TIMEOUT_MS))) {
      return storeUnavailable('The store cannot be reached right now');
    }
    return c.json({ status: 'ready', version });
  });
  const metricsAllowed = bearerCheck(metricsToken);
  app.get('/metrics', async (c) => {
    if (!metricsAllowed(c.req.header('authorization'))) {
      throw new AuthError(
        'unauthorized',
        'GET /metrics needs Authorization: Bearer <metrics token>',
      );
    }
    const body = await services.metrics.render(services.sampler);
    return new Response(body, {
      headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
    });
  });
  if (!api) return app;

  let openApi: string | undefined;
  app.get('/openapi.json', () => {
    openApi ??= JSON.stringify(openApiDocument(version));
    return new Response(openApi, {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  });

  const authenticated = createMiddleware<AppEnv>(async (c, next) => {
    c.set('principal', await services.accounts.authenticate(c.req.header('authorization')));
    await next();
  });
  app.use('/api/*', authenticated);
  app.use('/v1/*', authenticated);

  const deps = { services, bodyTimeoutMs, tracer };
  app.route('/api/callback', callbackRoutes(deps));
  app.route('/v1/events', eventRoutes(deps));
  app.route('/v1/endpoints', endpointRoutes(deps));
  app.route('/v1/deliveries', deliveryRoutes(deps));
  app.route('/v1', accountRoutes(deps));
  if (webConsole) {
    // Its own app, with its own errors (pages, not problem documents) and headers.
    app.mount('/console', webConsole.fetch);
  }
  app.get('/', (c) =>
    // A browser is sent to the console; API clients keep the service description.
    webConsole && (c.req.header('accept') ?? '').includes('text/html')
      ? c.redirect('/console/', 302)
      : json({ service: 'herald', version, docs: '/openapi.json' }),
  );
  return app;
}
