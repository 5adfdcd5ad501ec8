// Query parameters of the /v1 routes, as zod schemas: read strictly (a parameter the route does
// not know is a 400 that names it, never silently ignored, so a misspelt filter cannot return
// everything) and described in the OpenAPI document from the same schemas.

import type { Context } from 'hono';
import { z } from 'zod';
import { DELIVERY_STATUSES } from '../domain/delivery.js';
import { ValidationError } from '../errors.js';
import { validated } from './body.js';

const time = (what: string) =>
  z
    .string()
    .describe(`${what} (ISO-8601 date-time, e.g. 2026-01-31T12:00:00Z)`)
    .meta({ format: 'date-time' })
    .optional();

export const DEFAULT_PAGE_SIZE = 50;
const LIMIT = 'limit must be an integer from 1 to 500';
const paging = {
  cursor: z.string().describe('The `next` value of the previous page').optional(),
  // Plain digits only (not 1e2, 0x10, +5): then a number in range. An integer to clients.
  limit: z
    .string()
    .regex(/^\d+$/, LIMIT)
    .transform(Number)
    .pipe(z.number().int().min(1, LIMIT).max(500, LIMIT))
    .meta({ type: 'integer', minimum: 1, maximum: 500 })
    .describe(`Page size (default ${DEFAULT_PAGE_SIZE})`)
    .optional(),
};

export const DeliveryQuerySchema = z.strictObject({
  endpoint: z.string().describe('Only this endpoint (ep_...)').optional(),
  status: z
    .enum(DELIVERY_STATUSES, { error: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
    .optional(),
  event: z.string().describe('An event id (evt_...) or an event name').optional(),
  packageId: z.string().describe('Only deliveries of events with this package id').optional(),
  since: time('Created at or after'),
  until: time('Created before'),
  ...paging,
});

export const EventQuerySchema = z.strictObject({
  packageId: z.string().describe('Only events with this package id').optional(),
  name: z.string().describe('Only events with this name, e.g. PACKAGE_COMPLETE').optional(),
  since: time('Received at or after'),
  until: time('Received before'),
  ...paging,
});

export const PageQuerySchema = z.strictObject(paging);

/** Routes that take no query parameter at all. */
export const NoQuerySchema = z.strictObject({});

/**
 * The request's query, read with `schema`: each parameter at most once, none the schema does not
 * list, each of the shape it gives. A clear 400 otherwise.
 */
export function parseQuery<S extends z.ZodObject>(c: Context, schema: S): z.infer<S> {
  const given = c.req.queries();
  const query: Record<string, string> = {};
  for (const [name, values] of Object.entries(given)) {
    if (values.length > 1) {
      throw new ValidationError(
        'invalid_request',
        `Query parameter ${name} is given more than once`,
        {
          problems: [{ path: name, message: 'given more than once' }],
        },
      );
    }
    query[name] = values[0] ?? '';
  }
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(query).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    const takes = known.length === 0 ? 'takes no query parameters' : `takes ${known.join(', ')}`;
    throw new ValidationError(
      'invalid_request',
      `Unknown query parameter ${unknown.map((n) => JSON.stringify(n)).join(', ')}: ${c.req.method} ${c.req.path} ${takes}`,
      { problems: unknown.map((path) => ({ path, message: 'unknown query parameter' })) },
    );
  }
  return validated(schema, query, 'invalid_request');
}
