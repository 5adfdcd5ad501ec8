// The schemas of the OpenAPI document, by component name: request bodies as clients write them,
// responses as the server writes them. All are the server's own zod schemas (services/schemas.ts
// parses requests with them, services/representations.ts checks the presenters against them).

import { z } from 'zod';
import { ErrorCodes } from '../errors.js';
import {
  AccountCreatedJson,
  AccountJson,
  ApiKeyJson,
  CallbackJson,
  DeliveryJson,
  DeliveryWithAttemptsJson,
  EndpointJson,
  EndpointWithSecretJson,
  EventJson,
  EventWithDeliveriesJson,
  HealthJson,
  ReadyJson,
  IntrospectionJson,
  OperationalEventJson,
  pageOf,
  ProbeJson,
  PublishedJson,
  RecoveredJson,
  RotatedSecretJson,
  ServiceJson,
  TokenRevokedJson,
  TokenTestJson,
} from '../services/representations.js';
import {
  AccountCreateSchema,
  AccountPatchSchema,
  ApiKeyCreateSchema,
  CallbackSchema,
  CredentialsSchema,
  EndpointCreateSchema,
  EndpointPatchSchema,
  RecoverSchema,
  TestEventSchema,
} from '../services/schemas.js';

/** An event as published: what domain/events.ts normalises (unknown fields are delivered too). */
export const PublishEventSchema = z
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

const PublishSchema = z.union([PublishEventSchema, z.array(PublishEventSchema).max(1000)]);

const ProblemSchema = z.object({
  type: z.string().describe('urn:herald:problem:<code>'),
  title: z.string(),
  status: z.int(),
  code: z.enum(Object.keys(ErrorCodes) as [keyof typeof ErrorCodes]).describe('docs/errors.md'),
  detail: z.string(),
  errors: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .optional()
    .describe('The offending fields'),
});

const OneSpanErrorSchema = z.object({
  code: z.int().describe('The HTTP status'),
  name: z.string().describe('Short category, e.g. Validation Error'),
  messageKey: z.string().describe('`error.` followed by the stable error code (docs/errors.md)'),
  message: z.string(),
  technical: z.string().describe('The offending fields, or empty'),
});

/** Request bodies (read as the client writes them). */
export const REQUESTS = {
  Callback: CallbackSchema,
  PublishEvent: PublishEventSchema,
  Publish: PublishSchema,
  EndpointCreate: EndpointCreateSchema,
  EndpointPatch: EndpointPatchSchema,
  Credentials: CredentialsSchema,
  Recover: RecoverSchema,
  TestEvent: TestEventSchema,
  AccountCreate: AccountCreateSchema,
  AccountPatch: AccountPatchSchema,
  ApiKeyCreate: ApiKeyCreateSchema,
} satisfies Record<string, z.ZodType>;

/** Responses (read as the server writes them). */
export const RESPONSES = {
  Problem: ProblemSchema,
  OneSpanError: OneSpanErrorSchema,
  CallbackConfig: CallbackJson,
  Published: PublishedJson,
  Event: EventJson,
  EventWithDeliveries: EventWithDeliveriesJson,
  EventPage: pageOf(EventJson),
  Endpoint: EndpointJson,
  EndpointWithSecret: EndpointWithSecretJson,
  EndpointPage: pageOf(EndpointJson),
  Delivery: DeliveryJson,
  DeliveryWithAttempts: DeliveryWithAttemptsJson,
  DeliveryPage: pageOf(DeliveryJson),
  Probe: ProbeJson,
  Recovered: RecoveredJson,
  RotatedSecret: RotatedSecretJson,
  TokenTest: TokenTestJson,
  TokenRevoked: TokenRevokedJson,
  Introspection: IntrospectionJson,
  OperationalEventPage: pageOf(OperationalEventJson),
  Account: AccountJson,
  AccountCreated: AccountCreatedJson,
  AccountPage: pageOf(AccountJson),
  ApiKey: ApiKeyJson,
  ApiKeyPage: pageOf(ApiKeyJson),
  Health: HealthJson,
  Ready: ReadyJson,
  Service: ServiceJson,
} satisfies Record<string, z.ZodType>;

export type RequestName = keyof typeof REQUESTS;
export type ResponseName = keyof typeof RESPONSES;
