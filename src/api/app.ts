// The HTTP API: OneSpan-compatible `/api/callback`, native `/v1`, `/healthz`, `/metrics`,
// `/openapi.json`. Thin: parse at the edge, call services, present the result.

import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '../observability/logger.js';
import type { Services } from '../services/index.js';
import { json, type AppEnv } from './context.js';
import { openApiDocument } from './openapi.js';
import { dialectOf, errorAnswer, errorResponse } from './problem.js';
import { accountRoutes } from './routes/accounts.js';
import { callbackRoutes } from './routes/callback.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { endpointRoutes } from './routes/endpoints.js';
import { eventRoutes } from './routes/events.js';

export interface AppOptions {
  readonly services: Services;
  readonly logger: Logger;
  readonly version: string;
  /** Serve the API routes (role all/api); workers serve only health and metrics. */
  readonly api: boolean;
  /** How long a publish body may take to arrive once admitted (plus an allowance per MiB). */
  readonly bodyTimeoutMs: number;
}

export function createApp({
  services,
  logger,
  version,
  api,
  bodyTimeoutMs,
}: AppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((error, c) => errorResponse(error, c, logger));
  app.notFound((c) =>
    errorAnswer(
      { code: 'not_found', detail: `No route for ${c.req.method} ${c.req.path}` },
      dialectOf(c.req.path),
    ),
  );

  app.get('/healthz', (c) => {
    const health = services.health();
    return c.json(
      {
        status: health.ready ? 'ok' : 'unavailable',
        version,
        role: health.role,
        store: health.store,
      },
      health.ready ? 200 : 503,
    );
  });
  app.get('/metrics', async () => {
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

  const deps = { services, bodyTimeoutMs };
  app.route('/api/callback', callbackRoutes(deps));
  app.route('/v1/events', eventRoutes(deps));
  app.route('/v1/endpoints', endpointRoutes(deps));
  app.route('/v1/deliveries', deliveryRoutes(deps));
  app.route('/v1', accountRoutes(deps));
  app.get('/', () => json({ service: 'herald', version, docs: '/openapi.json' }));
  return app;
}
