// Every operation Herald serves, as the OpenAPI document describes it: method, path, operationId,
// query schema, body, success answer, and the error statuses it can answer beyond those of every
// authenticated route. A test holds this table to the routes the app really registers.

import type { z } from 'zod';
import type { RequestName, ResponseName } from './openapi-schemas.js';
import { DeliveryQuerySchema, EventQuerySchema, PageQuerySchema } from './query.js';

/** Statuses of a route that reads a JSON body. */
export const BODY = ['400', '408', '413'];

export interface Operation {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly query?: z.ZodObject;
  readonly headers?: ReadonlyArray<{ name: string; description: string }>;
  readonly body?: { readonly schema: RequestName; readonly required?: boolean };
  readonly ok: {
    readonly status: string;
    /** The JSON body's schema, or null for none (or for `content`). */
    readonly schema: ResponseName | null;
    readonly description: string;
    /** A body that is not one of RESPONSES. */
    readonly content?: Record<string, unknown>;
  };
  /** Error statuses beyond those every authenticated route can answer. */
  readonly errors: readonly string[];
  /** Unauthenticated routes (health, metrics, the document itself). */
  readonly open?: boolean;
}

function callbackOperations(path: string, suffix: string): Operation[] {
  const tag = 'OneSpan callback';
  const errors = ['404', '405'];
  return [
    {
      method: 'get',
      path,
      operationId: `getCallback${suffix}`,
      summary: 'The callback configuration (secrets masked)',
      tag,
      ok: { status: '200', schema: 'CallbackConfig', description: 'The configuration' },
      errors,
    },
    {
      method: 'post',
      path,
      operationId: `registerCallback${suffix}`,
      summary: 'Register or replace the callback configuration',
      tag,
      body: { schema: 'Callback' },
      ok: { status: '200', schema: 'CallbackConfig', description: 'The configuration as stored' },
      errors: [...BODY, '422', ...errors],
    },
    {
      method: 'delete',
      path,
      operationId: `deleteCallback${suffix}`,
      summary: 'Remove the callback configuration (Herald addition)',
      tag,
      ok: { status: '204', schema: null, description: 'Removed' },
      errors,
    },
  ];
}

const ep = '/v1/endpoints/{id}';

export const OPERATIONS: readonly Operation[] = [
  ...callbackOperations('/api/callback', ''),
  ...callbackOperations('/api/callback/connectors/{origin}', 'Connector'),
  {
    method: 'post',
    path: '/v1/events',
    operationId: 'publishEvents',
    summary: 'Publish one event (object) or a batch (array of up to 1,000); durable before 202',
    tag: 'Events',
    headers: [
      {
        name: 'Idempotency-Key',
        description: 'Publishing again with the same key and body stores nothing new',
      },
    ],
    body: { schema: 'Publish' },
    ok: { status: '202', schema: 'Published', description: 'Stored: {"id"} or {"ids"}' },
    errors: [...BODY, '409'],
  },
  {
    method: 'get',
    path: '/v1/events',
    operationId: 'listEvents',
    summary: 'Events, newest first, by package id, name and time received; cursor-paginated',
    tag: 'Events',
    query: EventQuerySchema,
    ok: { status: '200', schema: 'EventPage', description: 'A page of events' },
    errors: ['400'],
  },
  {
    method: 'get',
    path: '/v1/events/{id}',
    operationId: 'getEvent',
    summary: 'One event and its deliveries',
    tag: 'Events',
    ok: { status: '200', schema: 'EventWithDeliveries', description: 'The event' },
    errors: ['400', '404'],
  },
  {
    method: 'get',
    path: '/v1/endpoints',
    operationId: 'listEndpoints',
    summary: 'Endpoints of the account',
    tag: 'Endpoints',
    ok: { status: '200', schema: 'EndpointPage', description: 'Every endpoint (next is null)' },
    errors: ['400'],
  },
  {
    method: 'post',
    path: '/v1/endpoints',
    operationId: 'createEndpoint',
    summary: 'Create an endpoint (its signing secret is answered once, here)',
    tag: 'Endpoints',
    body: { schema: 'EndpointCreate' },
    ok: { status: '201', schema: 'EndpointWithSecret', description: 'Created' },
    errors: [...BODY, '422'],
  },
  {
    method: 'get',
    path: ep,
    operationId: 'getEndpoint',
    summary: 'One endpoint',
    tag: 'Endpoints',
    ok: { status: '200', schema: 'Endpoint', description: 'The endpoint' },
    errors: ['400', '404'],
  },
  {
    method: 'patch',
    path: ep,
    operationId: 'updateEndpoint',
    summary:
      'Change an endpoint; state enabled releases held deliveries; signing: true answers the new secret once; a new URL or token URL origin needs the secrets bound to it sent again',
    tag: 'Endpoints',
    body: { schema: 'EndpointPatch' },
    ok: { status: '200', schema: 'EndpointWithSecret', description: 'The endpoint after' },
    errors: [...BODY, '404', '422'],
  },
  {
    method: 'delete',
    path: ep,
    operationId: 'deleteEndpoint',
    summary: 'Delete an endpoint with its deliveries',
    tag: 'Endpoints',
    ok: { status: '204', schema: null, description: 'Deleted' },
    errors: ['404'],
  },
  {
    method: 'put',
    path: `${ep}/credentials`,
    operationId: 'replaceEndpointCredentials',
    summary:
      'New key, secret or refresh token; held deliveries resume; a salesforceKey for another host needs the stored client secret sent again',
    tag: 'Endpoints',
    body: { schema: 'Credentials' },
    ok: { status: '200', schema: 'Endpoint', description: 'The endpoint after' },
    errors: [...BODY, '404', '422'],
  },
  {
    method: 'post',
    path: `${ep}/test`,
    operationId: 'testEndpoint',
    summary: 'Send a test event now and report what the listener answered',
    tag: 'Endpoints',
    body: { schema: 'TestEvent', required: false },
    ok: { status: '200', schema: 'Probe', description: 'The outcome' },
    errors: [...BODY, '404'],
  },
  {
    method: 'post',
    path: `${ep}/recover`,
    operationId: 'recoverEndpoint',
    summary: 'Redeliver everything failed or held created in [since, until)',
    tag: 'Endpoints',
    body: { schema: 'Recover' },
    ok: { status: '202', schema: 'Recovered', description: 'How many will be redelivered' },
    errors: [...BODY, '404'],
  },
  {
    method: 'post',
    path: `${ep}/signing-secret/rotate`,
    operationId: 'rotateSigningSecret',
    summary: 'A new signing secret; the previous ones stay valid for 24 hours',
    tag: 'Endpoints',
    ok: { status: '200', schema: 'RotatedSecret', description: 'The new secret, shown once' },
    errors: ['404'],
  },
  ...(
    [
      [
        'test',
        'testEndpointToken',
        'One refresh, reporting the outcome (a rotated token is stored)',
      ],
      ['refresh', 'refreshEndpointToken', 'Refresh the access token now'],
    ] as const
  ).map(([action, operationId, summary]): Operation => ({
    method: 'post',
    path: `${ep}/token/${action}`,
    operationId,
    summary,
    tag: 'OAuth tokens',
    ok: { status: '200', schema: 'TokenTest', description: 'The outcome' },
    errors: ['404', '422', '502'],
  })),
  {
    method: 'post',
    path: `${ep}/token/revoke`,
    operationId: 'revokeEndpointToken',
    summary: 'Revoke the stored refresh token at the authorization server',
    tag: 'OAuth tokens',
    ok: { status: '200', schema: 'TokenRevoked', description: 'Revoked (or already invalid)' },
    errors: ['404', '422', '502'],
  },
  {
    method: 'post',
    path: `${ep}/token/introspect`,
    operationId: 'introspectEndpointToken',
    summary: 'Ask the authorization server about the stored token (RFC 7662)',
    tag: 'OAuth tokens',
    ok: { status: '200', schema: 'Introspection', description: 'The introspection answer' },
    errors: ['404', '422', '502'],
  },
  {
    method: 'get',
    path: '/v1/deliveries',
    operationId: 'listDeliveries',
    summary: 'Deliveries, newest first, cursor-paginated',
    tag: 'Deliveries',
    query: DeliveryQuerySchema,
    ok: { status: '200', schema: 'DeliveryPage', description: 'A page of deliveries' },
    errors: ['400'],
  },
  {
    method: 'get',
    path: '/v1/deliveries/{id}',
    operationId: 'getDelivery',
    summary: 'One delivery with its attempts',
    tag: 'Deliveries',
    ok: { status: '200', schema: 'DeliveryWithAttempts', description: 'The delivery' },
    errors: ['400', '404'],
  },
  {
    method: 'post',
    path: '/v1/deliveries/{id}/retry',
    operationId: 'retryDelivery',
    summary: 'Retry now (a new retry cycle)',
    tag: 'Deliveries',
    ok: { status: '202', schema: 'Delivery', description: 'Due now' },
    errors: ['404'],
  },
  {
    method: 'get',
    path: '/v1/operational-events',
    operationId: 'listOperationalEvents',
    summary: 'Operational events of the account, newest first',
    tag: 'Operations',
    query: PageQuerySchema,
    ok: {
      status: '200',
      schema: 'OperationalEventPage',
      description: 'A page of operational events',
    },
    errors: ['400'],
  },
  {
    method: 'get',
    path: '/v1/api-keys',
    operationId: 'listApiKeys',
    summary: 'API keys of the account (without the keys)',
    tag: 'API keys',
    ok: { status: '200', schema: 'ApiKeyPage', description: 'Every key (next is null)' },
    errors: ['400'],
  },
  {
    method: 'post',
    path: '/v1/api-keys',
    operationId: 'createApiKey',
    summary: 'Create an API key (the key is answered once)',
    tag: 'API keys',
    body: { schema: 'ApiKeyCreate' },
    ok: { status: '201', schema: 'ApiKey', description: 'Created' },
    errors: BODY,
  },
  {
    method: 'delete',
    path: '/v1/api-keys/{keyId}',
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key',
    tag: 'API keys',
    ok: { status: '204', schema: null, description: 'Revoked' },
    errors: ['404'],
  },
  {
    method: 'get',
    path: '/v1/accounts',
    operationId: 'listAccounts',
    summary: 'Accounts (operator key)',
    tag: 'Accounts',
    ok: { status: '200', schema: 'AccountPage', description: 'Every account (next is null)' },
    errors: ['400'],
  },
  {
    method: 'post',
    path: '/v1/accounts',
    operationId: 'createAccount',
    summary: 'Create an account with a first API key (operator key)',
    tag: 'Accounts',
    body: { schema: 'AccountCreate' },
    ok: { status: '201', schema: 'AccountCreated', description: 'Created, with its first key' },
    errors: BODY,
  },
  {
    method: 'get',
    path: '/v1/accounts/{accountId}',
    operationId: 'getAccount',
    summary: 'One account (operator key)',
    tag: 'Accounts',
    ok: { status: '200', schema: 'Account', description: 'The account' },
    errors: ['400', '404'],
  },
  {
    method: 'patch',
    path: '/v1/accounts/{accountId}',
    operationId: 'updateAccount',
    summary: "Set an account's contact address for alert emails (operator key)",
    tag: 'Accounts',
    body: { schema: 'AccountPatch' },
    ok: { status: '200', schema: 'Account', description: 'The account' },
    errors: [...BODY, '404'],
  },
  {
    method: 'get',
    path: '/v1/account',
    operationId: 'getOwnAccount',
    summary: 'The account of the API key',
    tag: 'Accounts',
    ok: { status: '200', schema: 'Account', description: 'The account' },
    errors: ['400'],
  },
  {
    method: 'patch',
    path: '/v1/account',
    operationId: 'updateOwnAccount',
    summary: 'Set the contact address that alert emails go to (null removes it)',
    tag: 'Accounts',
    body: { schema: 'AccountPatch' },
    ok: { status: '200', schema: 'Account', description: 'The account' },
    errors: BODY,
  },
  {
    method: 'get',
    path: '/v1/accounts/{accountId}/api-keys',
    operationId: 'listAccountApiKeys',
    summary: "An account's API keys (operator key)",
    tag: 'Accounts',
    ok: { status: '200', schema: 'ApiKeyPage', description: 'Every key (next is null)' },
    errors: ['400', '404'],
  },
  {
    method: 'post',
    path: '/v1/accounts/{accountId}/api-keys',
    operationId: 'createAccountApiKey',
    summary: 'Create an API key for an account (operator key)',
    tag: 'Accounts',
    body: { schema: 'ApiKeyCreate' },
    ok: { status: '201', schema: 'ApiKey', description: 'Created' },
    errors: [...BODY, '404'],
  },
  {
    method: 'delete',
    path: '/v1/accounts/{accountId}/api-keys/{keyId}',
    operationId: 'revokeAccountApiKey',
    summary: "Revoke an account's API key (operator key)",
    tag: 'Accounts',
    ok: { status: '204', schema: null, description: 'Revoked' },
    errors: ['404'],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness: status and version only (503 while starting or draining)',
    tag: 'Service',
    ok: { status: '200', schema: 'Health', description: 'Ready' },
    errors: [],
    open: true,
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    summary:
      'Whether this process can work now: its store answers (503 store_unavailable while it cannot, not_ready while starting or draining; Retry-After says when to ask again)',
    tag: 'Service',
    ok: { status: '200', schema: 'Ready', description: 'Ready' },
    errors: ['503'],
    open: true,
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics (text exposition format)',
    tag: 'Service',
    ok: {
      status: '200',
      schema: null,
      description: 'The metrics',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
    errors: [],
    open: true,
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This document',
    tag: 'Service',
    ok: {
      status: '200',
      schema: null,
      description: 'OpenAPI 3.1',
      content: { 'application/json': { schema: { type: 'object' } } },
    },
    errors: [],
    open: true,
  },
  {
    method: 'get',
    path: '/',
    operationId: 'service',
    summary: 'What this is, and where the API document is',
    tag: 'Service',
    ok: { status: '200', schema: 'Service', description: 'The service' },
    errors: [],
    open: true,
  },
];
