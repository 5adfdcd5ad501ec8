// Counts and times every request the app answers, by method, route pattern and status, for
// dashboards built on OpenTelemetry's HTTP server metric. The route is the pattern that answered
// (`/v1/endpoints/:id`), never the raw path: one series per route, whatever ids are asked for.

import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { Metrics } from '../observability/metrics.js';
import type { AppEnv } from './context.js';

/** The route label of requests no route matched (a 404 for an unknown path). */
export const UNMATCHED_ROUTE = 'unmatched';

export function requestMetrics(metrics: Metrics) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      // After next(), the route index is the one of the handler (or middleware) that answered;
      // when only this middleware matched, no route did.
      const route = c.req.routeIndex === 0 ? UNMATCHED_ROUTE : routePath(c);
      metrics.observeRequest(
        c.req.method,
        route,
        c.res.status,
        (performance.now() - started) / 1000,
      );
    }
  });
}
