// The OpenAPI 3.1 document served at /openapi.json. Every schema in it is generated from the zod
// schemas the server itself uses: request bodies and query parameters from those the routes parse
// with, responses from those the presenters are type-checked against. Every operation has an
// operationId and lists each error status it can answer, with the error document of its dialect.

import { z } from 'zod';
import { CONNECTOR_ORIGINS } from '../domain/endpoint.js';
import { REQUESTS, RESPONSES } from './openapi-schemas.js';
import { OPERATIONS, type Operation } from './operations.js';

/** What each error status means, in the words of the route family. */
const ERROR_MEANING: Record<string, string> = {
  '400': 'The request is not acceptable (body, query parameters); `code` and `errors` say why',
  '401': 'Missing or unknown API key',
  '403': 'This key may not do this (an account key on an operator route, or the other way)',
  '404': 'Not found in this account',
  '405': 'Method not allowed on this route',
  '408': 'The request (or its body) did not arrive in time',
  '409': 'The Idempotency-Key was used before with a different body',
  '413': 'The body is larger than this route accepts',
  '422':
    'Destination not allowed; credentials incomplete or of the wrong kind; or `secret_required`: a masked or left-out secret would go to another origin than it was given for (send it again in full)',
  '431': 'Request headers larger than the server accepts',
  '500': 'Something went wrong on the server; nothing secret is said',
  '502': 'The token endpoint did not answer as OAuth 2.0 says',
  '503': 'The store cannot be reached right now (Retry-After says when to try again)',
};

/** Statuses every authenticated route can answer. */
const ALWAYS = ['401', '403', '431', '500', '503'];

/** The id prefix of a path parameter, by the collection it follows (`/v1/events/{id}`: evt_). */
const ID_PREFIXES: Record<string, string> = {
  events: 'evt_',
  endpoints: 'ep_',
  deliveries: 'dlv_',
  'api-keys': 'key_',
  accounts: 'acc_',
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Every schema in `schemas` as JSON Schema, references between them as components. */
function components(schemas: Record<string, z.ZodType>, io: 'input' | 'output') {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(schemas)) registry.add(schema, { id: name });
  const { schemas: out } = z.toJSONSchema(registry, {
    io,
    unrepresentable: 'any',
    uri: (name) => `#/components/schemas/${name}`,
  });
  return Object.fromEntries(
    Object.entries(out).map(([name, schema]) => [name, bare(schema as Record<string, unknown>)]),
  );
}

/** A JSON Schema as an OpenAPI schema object: without the dialect and id zod writes. */
function bare(schema: Record<string, unknown>): Record<string, unknown> {
  const out = { ...schema };
  delete out.$schema;
  delete out.$id;
  return out;
}

/** Query parameters from the schema a route reads its query with. */
function queryParameters(schema: z.ZodObject): unknown[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...json } = bare(
      z.toJSONSchema(field as z.ZodType, {
        io: 'input',
        unrepresentable: 'any',
        // An integer parameter is written in digits; the pattern that checks that is the
        // server's business, not a constraint clients need to see on a number.
        override: ({ jsonSchema }) => {
          if (jsonSchema.type === 'integer') delete jsonSchema.pattern;
        },
      }),
    );
    return {
      name,
      in: 'query',
      required: false,
      ...(description ? { description } : {}),
      schema: json,
    };
  });
}

function pathParameters(path: string): unknown[] {
  return [...path.matchAll(/([\w-]+)\/\{(\w+)\}/g)].map(([, collection, name]) => {
    if (name === 'origin') {
      return {
        name,
        in: 'path',
        required: true,
        schema: { type: 'string', enum: CONNECTOR_ORIGINS },
      };
    }
    const prefix = ID_PREFIXES[collection!];
    return {
      name,
      in: 'path',
      required: true,
      schema: prefix ? { type: 'string', pattern: `^${prefix}` } : { type: 'string' },
    };
  });
}

function operation(op: Operation): Record<string, unknown> {
  const onespan = op.path.startsWith('/api/');
  const errorBody = onespan
    ? { 'application/json': { schema: ref('OneSpanError') } }
    : { 'application/problem+json': { schema: ref('Problem') } };
  const statuses = [...new Set([...(op.open ? [] : ALWAYS), ...op.errors])].sort();
  const okContent =
    op.ok.content ??
    (op.ok.schema === null ? undefined : { 'application/json': { schema: ref(op.ok.schema) } });
  const responses: Record<string, unknown> = {
    [op.ok.status]: {
      description: op.ok.description,
      ...(okContent ? { content: okContent } : {}),
    },
  };
  if (op.path === '/healthz') {
    responses['503'] = {
      description: 'Not ready (starting or draining)',
      content: { 'application/json': { schema: ref('Health') } },
    };
  }
  for (const status of statuses) {
    responses[status] = { description: ERROR_MEANING[status]!, content: errorBody };
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    tags: [op.tag],
    ...(op.open ? { security: [] } : {}),
    parameters: [
      ...pathParameters(op.path),
      ...(op.query ? queryParameters(op.query) : []),
      ...(op.headers ?? []).map((h) => ({
        name: h.name,
        in: 'header',
        required: false,
        description: h.description,
        schema: { type: 'string', maxLength: 255 },
      })),
    ],
    ...(op.body
      ? {
          requestBody: {
            required: op.body.required ?? true,
            content: { 'application/json': { schema: ref(op.body.schema) } },
          },
        }
      : {}),
    responses,
  };
}

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] = { ...paths[op.path], [op.method]: operation(op) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald',
      version,
      description:
        'Durable, OneSpan-compatible callback event notifications with Basic keys and OAuth 2.0 bearer tokens. Errors on /v1 are RFC 9457 problem documents; on /api/callback, OneSpan’s error document.',
    },
    security: [{ bearer: [] }, { basic: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
        basic: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: "OneSpan style: 'Basic <API key>' (the raw key)",
        },
      },
      schemas: {
        ...components(REQUESTS, 'input'),
        ...components(RESPONSES, 'output'),
      },
    },
  };
}
