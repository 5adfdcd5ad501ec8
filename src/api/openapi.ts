// The OpenAPI 3.1 document served at /openapi.json, built from the same zod schemas that
// validate requests, so the two cannot drift apart.

import { z } from 'zod';
import { CONNECTOR_ORIGINS } from '../domain/endpoint.js';
import { DELIVERY_STATUSES } from '../domain/delivery.js';
import {
  AccountCreateSchema,
  ApiKeyCreateSchema,
  CallbackSchema,
  CredentialsSchema,
  EndpointCreateSchema,
  EndpointPatchSchema,
  RecoverSchema,
  TestEventSchema,
} from '../services/schemas.js';

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

const EventSchema = z
  .object({
    name: z
      .string()
      .describe('Event name, e.g. PACKAGE_COMPLETE; unknown names in the same shape are accepted'),
    packageId: z.string().max(255),
    sessionUser: z.string().max(255).nullable().optional(),
    message: z.string().nullable().optional(),
    documentId: z.string().nullable().optional(),
    createdDate: z.string().optional().describe('ISO-8601; defaults to the time of receipt'),
  })
  .loose();

const problemRef = { $ref: '#/components/schemas/Problem' };
const errors = {
  '400': {
    description: 'Invalid request',
    content: { 'application/problem+json': { schema: problemRef } },
  },
  '401': {
    description: 'Missing or invalid API key',
    content: { 'application/problem+json': { schema: problemRef } },
  },
  '404': {
    description: 'Not found in this account',
    content: { 'application/problem+json': { schema: problemRef } },
  },
};
// /api/callback answers errors in OneSpan's document, the one its SDKs parse (docs/errors.md).
const oneSpanErrorRef = { $ref: '#/components/schemas/OneSpanError' };
const callbackErrors = Object.fromEntries(
  Object.entries({
    '400': 'Invalid request',
    '401': 'Missing or invalid API key',
    '404': 'Not found in this account',
    '405': 'Method not allowed on this route',
    '413': 'Body larger than 64 KiB',
    '422': 'Destination not allowed, or credentials incomplete',
  }).map(([status, description]) => [
    status,
    { description, content: { 'application/json': { schema: oneSpanErrorRef } } },
  ]),
);
const body = (ref: string) => ({
  required: true,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const ok = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});
const idParam = (name: string, prefix: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: `^${prefix}` },
});

export function openApiDocument(version: string): Record<string, unknown> {
  const callbackOps = (origin: boolean) => ({
    ...(origin
      ? {
          parameters: [
            {
              name: 'origin',
              in: 'path',
              required: true,
              schema: { type: 'string', enum: CONNECTOR_ORIGINS },
            },
          ],
        }
      : {}),
    get: {
      summary: 'The callback configuration (secrets masked)',
      responses: { '200': ok('Callback'), ...callbackErrors },
    },
    post: {
      summary: 'Register or replace the callback configuration',
      requestBody: body('Callback'),
      responses: { '200': ok('Callback'), ...callbackErrors },
    },
    delete: {
      summary: 'Remove the callback configuration (Herald addition)',
      responses: { '204': { description: 'Removed' }, ...callbackErrors },
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Herald',
      version,
      description:
        'Durable, OneSpan-compatible callback event notifications with Basic keys and OAuth 2.0 bearer tokens.',
    },
    security: [{ bearer: [] }, { basic: [] }],
    paths: {
      '/api/callback': callbackOps(false),
      '/api/callback/connectors/{origin}': callbackOps(true),
      '/v1/events': {
        post: {
          summary:
            'Publish one event (object) or a batch (array of up to 1,000); durable before 202',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', maxLength: 255 },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  oneOf: [
                    { $ref: '#/components/schemas/Event' },
                    {
                      type: 'array',
                      maxItems: 1000,
                      items: { $ref: '#/components/schemas/Event' },
                    },
                  ],
                },
              },
            },
          },
          responses: {
            '202': ok('{"id"} or {"ids"}'),
            '409': errors['400'],
            '413': errors['400'],
            ...errors,
          },
        },
      },
      '/v1/events/{id}': {
        get: {
          summary: 'One event and its deliveries',
          parameters: [idParam('id', 'evt_')],
          responses: { '200': ok('Event'), ...errors },
        },
      },
      '/v1/endpoints': {
        get: { summary: 'Endpoints of the account', responses: { '200': ok('List'), ...errors } },
        post: {
          summary: 'Create an endpoint (the signing secret is returned once)',
          requestBody: body('EndpointCreate'),
          responses: { '201': ok('Endpoint'), ...errors },
        },
      },
      '/v1/endpoints/{id}': {
        parameters: [idParam('id', 'ep_')],
        get: { summary: 'One endpoint', responses: { '200': ok('Endpoint'), ...errors } },
        patch: {
          summary: 'Change an endpoint (state enabled releases held deliveries)',
          requestBody: body('EndpointPatch'),
          responses: { '200': ok('Endpoint'), ...errors },
        },
        delete: {
          summary: 'Delete an endpoint with its deliveries',
          responses: { '204': { description: 'Deleted' }, ...errors },
        },
      },
      '/v1/endpoints/{id}/credentials': {
        parameters: [idParam('id', 'ep_')],
        put: {
          summary: 'New key, secret or refresh token; held deliveries resume',
          requestBody: body('Credentials'),
          responses: { '200': ok('Endpoint'), ...errors },
        },
      },
      '/v1/endpoints/{id}/test': {
        parameters: [idParam('id', 'ep_')],
        post: {
          summary: 'Send a test event now and report the outcome',
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/TestEvent' } } },
          },
          responses: { '200': ok('Probe result'), ...errors },
        },
      },
      '/v1/endpoints/{id}/recover': {
        parameters: [idParam('id', 'ep_')],
        post: {
          summary: 'Redeliver everything failed or held in [since, until)',
          requestBody: body('Recover'),
          responses: { '202': ok('{"recovered"}'), ...errors },
        },
      },
      '/v1/endpoints/{id}/signing-secret/rotate': {
        parameters: [idParam('id', 'ep_')],
        post: {
          summary: 'New signing secret; the old one stays valid for 24 hours',
          responses: { '200': ok('{"signingSecret"}'), ...errors },
        },
      },
      '/v1/deliveries': {
        get: {
          summary: 'Deliveries, newest first, cursor-paginated',
          parameters: [
            { name: 'endpoint', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', schema: { type: 'string', enum: DELIVERY_STATUSES } },
            {
              name: 'event',
              in: 'query',
              schema: { type: 'string' },
              description: 'Event id (evt_...) or event name',
            },
            { name: 'since', in: 'query', schema: { type: 'string', format: 'date-time' } },
            { name: 'until', in: 'query', schema: { type: 'string', format: 'date-time' } },
            { name: 'cursor', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500 } },
          ],
          responses: { '200': ok('{"data", "next"}'), ...errors },
        },
      },
      '/v1/deliveries/{id}': {
        get: {
          summary: 'One delivery with its attempts',
          parameters: [idParam('id', 'dlv_')],
          responses: { '200': ok('Delivery'), ...errors },
        },
      },
      '/v1/deliveries/{id}/retry': {
        post: {
          summary: 'Retry now',
          parameters: [idParam('id', 'dlv_')],
          responses: { '202': ok('Delivery'), ...errors },
        },
      },
      '/v1/operational-events': {
        get: {
          summary: 'Operational events of the account, newest first',
          responses: { '200': ok('{"data", "next"}'), ...errors },
        },
      },
      '/v1/api-keys': {
        get: { summary: 'API keys of the account', responses: { '200': ok('List'), ...errors } },
        post: {
          summary: 'Create an API key (shown once)',
          requestBody: body('ApiKeyCreate'),
          responses: { '201': ok('ApiKey'), ...errors },
        },
      },
      '/v1/api-keys/{keyId}': {
        delete: {
          summary: 'Revoke an API key',
          parameters: [idParam('keyId', 'key_')],
          responses: { '204': { description: 'Revoked' }, ...errors },
        },
      },
      '/v1/accounts': {
        get: { summary: 'Accounts (operator key)', responses: { '200': ok('List'), ...errors } },
        post: {
          summary: 'Create an account with a first API key (operator key)',
          requestBody: body('AccountCreate'),
          responses: { '201': ok('Account'), ...errors },
        },
      },
      '/v1/accounts/{accountId}/api-keys': {
        parameters: [idParam('accountId', 'acc_')],
        get: {
          summary: "An account's API keys (operator key)",
          responses: { '200': ok('List'), ...errors },
        },
        post: {
          summary: 'Create an API key for an account (operator key)',
          requestBody: body('ApiKeyCreate'),
          responses: { '201': ok('ApiKey'), ...errors },
        },
      },
      '/healthz': {
        get: {
          summary: 'Health',
          security: [],
          responses: { '200': ok('Ready'), '503': ok('Not ready') },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          security: [],
          responses: { '200': { description: 'text/plain exposition' } },
        },
      },
    },
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
        Callback: schema(CallbackSchema),
        Event: schema(EventSchema),
        EndpointCreate: schema(EndpointCreateSchema),
        EndpointPatch: schema(EndpointPatchSchema),
        Credentials: schema(CredentialsSchema),
        Recover: schema(RecoverSchema),
        TestEvent: schema(TestEventSchema),
        AccountCreate: schema(AccountCreateSchema),
        ApiKeyCreate: schema(ApiKeyCreateSchema),
        OneSpanError: {
          type: 'object',
          required: ['code', 'name', 'messageKey', 'message', 'technical'],
          properties: {
            code: { type: 'integer', description: 'The HTTP status' },
            name: { type: 'string', description: 'Short category, e.g. Validation Error' },
            messageKey: {
              type: 'string',
              description: '`error.` followed by the stable error code (docs/errors.md)',
            },
            message: { type: 'string' },
            technical: { type: 'string', description: 'The offending fields, or empty' },
          },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string', description: 'Stable error code (docs/errors.md)' },
            detail: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  };
}
