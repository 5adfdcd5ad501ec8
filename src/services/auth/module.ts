// What each auth type's module provides (one file per type in this folder; index.ts is the
// registry that the services call).

import type { z } from 'zod';
import type { AuthTypeDeclaration, SecretName } from '../../domain/auth-types.js';
import { maskSecret, type Endpoint, type Origin } from '../../domain/endpoint.js';
import type { CredentialsInput } from '../endpoints.js';
import type { CallbackJson, EndpointAuthJson, Presented } from '../representations.js';
import type { CallbackBody } from '../schemas.js';
import type { AuthDraft, SecretInput } from './draft.js';

/** The fields of the /v1 `auth` representation beyond `type` and `status`. */
export type PresentedAuth = Omit<Presented<typeof EndpointAuthJson>, 'type' | 'status'>;

/** What OneSpan's `Callback` shows of the auth: its `key` (masked) and `oauthSetting`. */
export interface PresentedCallbackAuth {
  readonly key: string | null;
  readonly oauthSetting?: Presented<typeof CallbackJson>['oauthSetting'];
}

export interface AuthModule<S extends z.ZodObject = z.ZodObject> {
  readonly declaration: AuthTypeDeclaration;
  /** The /v1 `auth` object of its type (modules of one type share one). */
  readonly schema: S;
  /** Whether a /v1 `auth` object of its type is this module's. */
  acceptsBody(body: z.output<S>): boolean;
  fromBody(body: z.output<S>, existing: Endpoint | undefined): AuthDraft;
  /** Whether OneSpan's `Callback` of its `authType` is this module's. */
  acceptsCallback(origin: Origin, body: CallbackBody): boolean;
  fromCallback(origin: Origin, body: CallbackBody, existing: Endpoint | undefined): AuthDraft;
  /** The draft's secrets by name (null: none; KEEP: the stored one). */
  inputs(auth: AuthDraft): Partial<Record<SecretName, SecretInput | null>>;
  /** Whether the draft's settings (beyond its secrets) differ from the stored ones. */
  settingsChanged?(auth: AuthDraft, before: Endpoint | undefined): boolean;
  present(e: Endpoint): PresentedAuth;
  presentCallback(e: Endpoint): PresentedCallbackAuth;
  /** Why `PUT /v1/endpoints/{id}/credentials` cannot take this input; undefined when it can. */
  replaceRefusal(input: CredentialsInput): string | undefined;
}

/** A stored secret as responses show it (`****7f3a`), or null when there is none. */
export function masked(secret: string | undefined): string | null {
  return secret === undefined ? null : maskSecret(secret);
}
