// The auth type registry: one module per type (none, basic, oauth2-client-credentials,
// oauth2-refresh-token, salesforce), each with its declaration (domain/auth-types.ts). The
// services ask it, never the type by name: how a request becomes a draft, how a draft's secrets
// are merged with the stored ones (and bound to their destination's origin), whether
// credentials are new, what the status becomes, and how the auth is presented.

import { z } from 'zod';
import { AUTH_TYPE_DECLARATIONS, authDeclarationOf } from '../../domain/auth-types.js';
import type {
  AuthStatus,
  AuthType,
  Endpoint,
  EndpointSecrets,
  OAuthSettings,
  Origin,
} from '../../domain/endpoint.js';
import { ValidationError } from '../../errors.js';
import type { CredentialsInput } from '../endpoints.js';
import type { SecretMoves } from '../secret-binding.js';
import type { CallbackBody } from '../schemas.js';
import { basic } from './basic.js';
import { invalid, KEEP, type AuthDraft, type SecretInput } from './draft.js';
import type { AuthModule, PresentedAuth, PresentedCallbackAuth } from './module.js';
import { none } from './none.js';
import { oauth2ClientCredentials } from './oauth2-client-credentials.js';
import { oauth2RefreshToken } from './oauth2-refresh-token.js';
import { salesforce } from './salesforce.js';

/** Every auth type's module, in the order of AUTH_TYPE_DECLARATIONS. */
const AUTH_MODULES = [
  none,
  basic,
  oauth2ClientCredentials,
  oauth2RefreshToken,
  salesforce,
] as const;
const MODULES: readonly AuthModule[] = AUTH_MODULES;

const BY_KIND = new Map(MODULES.map((m) => [m.declaration.kind, m]));
for (const d of AUTH_TYPE_DECLARATIONS) {
  if (BY_KIND.get(d.kind)?.declaration !== d) throw new Error(`auth type ${d.kind} has no module`);
}

type AuthSchemaOption = (typeof AUTH_MODULES)[number]['schema'];

/** The /v1 `auth` object: one option per type (the OAuth modules share theirs). */
export const AuthSchema = z.discriminatedUnion('type', [
  ...new Set(AUTH_MODULES.map((m): AuthSchemaOption => m.schema)),
] as [AuthSchemaOption, ...AuthSchemaOption[]]);
export type AuthBody = z.infer<typeof AuthSchema>;

/** The module of a stored endpoint, or of a draft. */
export function authModuleOf(auth: {
  readonly type: AuthType;
  readonly oauth: OAuthSettings | null;
}): AuthModule {
  return BY_KIND.get(authDeclarationOf(auth).kind)!;
}

const ofEndpoint = (e: Endpoint): AuthModule => authModuleOf({ type: e.authType, oauth: e.oauth });
const ofDraft = (auth: AuthDraft): AuthModule =>
  authModuleOf({ type: auth.type, oauth: oauthOf(auth) });

/** The OAuth settings a draft stores (null for the types without). */
export function oauthOf(auth: AuthDraft): OAuthSettings | null {
  return 'oauth' in auth ? auth.oauth : null;
}

// ---- what enters ----

/** The /v1 `auth` object as a draft (none when left out). */
export function authFromBody(
  body: AuthBody | undefined,
  existing: Endpoint | undefined,
): AuthDraft {
  if (!body) return { type: 'NONE' };
  const module = MODULES.find((m) => m.declaration.type === body.type && m.acceptsBody(body))!;
  return module.fromBody(body, existing);
}

/**
 * OneSpan's `Callback` as a draft. Without `authType`, OneSpan's rule: a `key` is a Basic key
 * (on the salesforceOauth2 connector, a Salesforce key); no key, no authentication.
 */
export function authFromCallback(
  origin: Origin,
  body: CallbackBody,
  existing: Endpoint | undefined,
): AuthDraft {
  const key = body.key ?? '';
  const type =
    body.authType ??
    (origin === 'salesforceOauth2' && key !== '' ? 'OAUTH2' : key !== '' ? 'BASIC' : 'NONE');
  const module = MODULES.find(
    (m) => m.declaration.type === type && m.acceptsCallback(origin, body),
  );
  if (!module) throw invalid('oauthSetting', `is required when authType is ${type}`);
  return module.fromCallback(origin, body, existing);
}

// ---- what is stored ----

function resolveSecret(input: SecretInput, stored: string | undefined, name: string): string {
  if (input !== KEEP) return input;
  if (stored === undefined) {
    throw new ValidationError(
      'invalid_credentials',
      `${name} is masked but no ${name} is stored for this endpoint; send the full value`,
    );
  }
  return stored;
}

/**
 * The secrets an auth draft leaves stored. Credentials of a type that tracks its status sent in
 * full (or changed settings) count as a new submission, which lifts a dead credential's ban;
 * masked ones do not. A masked secret is kept only while its destination stays (`moves`
 * collects the refusals).
 */
export function secretsFor(
  auth: AuthDraft,
  stored: EndpointSecrets,
  before: Endpoint | undefined,
  moves: SecretMoves,
  clock: () => number,
): EndpointSecrets {
  const module = ofDraft(auth);
  const { secrets: specs, tracksStatus } = module.declaration;
  const inputs = module.inputs(auth);
  for (const spec of specs) {
    if (inputs[spec.name] === KEEP)
      moves.keep(moves.fields[spec.name], spec.destination, 'is masked');
  }
  const out: { -readonly [K in keyof EndpointSecrets]: EndpointSecrets[K] } = {
    signingSecrets: stored.signingSecrets,
  };
  for (const spec of specs) {
    const input = inputs[spec.name];
    out[spec.stored] =
      input === null || input === undefined
        ? undefined
        : resolveSecret(input, stored[spec.stored], spec.name);
  }
  if (tracksStatus) {
    out.credentialsSetAt =
      specs.some((spec) => typeof inputs[spec.name] === 'string') ||
      module.settingsChanged?.(auth, before)
        ? clock()
        : stored.credentialsSetAt;
  }
  return out;
}

/** Whether the draft brings credentials different from what is stored. */
export function newCredentials(auth: AuthDraft, before: Endpoint): boolean {
  if (auth.type !== before.authType) return true;
  const module = ofDraft(auth);
  const inputs = module.inputs(auth);
  return (
    module.declaration.secrets.some((spec) => {
      const input = inputs[spec.name];
      return (
        input !== null &&
        input !== undefined &&
        input !== KEEP &&
        input !== before.secrets[spec.stored]
      );
    }) ||
    (module.settingsChanged?.(auth, before) ?? false)
  );
}

/** The status of new credentials: unverified for a type whose credential can die, else ok. */
export function initialStatus(auth: {
  readonly type: AuthType;
  readonly oauth: OAuthSettings | null;
}): AuthStatus {
  return authDeclarationOf(auth).tracksStatus ? 'unverified' : 'ok';
}

/** The status after a change of auth to `auth`. */
export function statusAfter(auth: AuthDraft, current: Endpoint, changed: boolean): AuthStatus {
  if (!ofDraft(auth).declaration.tracksStatus) return 'ok';
  return changed ? 'unverified' : current.authStatus;
}

/** A change that leaves the auth out keeps the stored secrets: while their destination stays. */
export function keepLeftOut(current: Endpoint, moves: SecretMoves): void {
  for (const spec of ofEndpoint(current).declaration.secrets) {
    moves.keep(moves.fields[spec.name], spec.destination, 'is left out');
  }
}

/** Why new credentials cannot be taken for this endpoint's type; undefined when they can. */
export function replaceRefusal(endpoint: Endpoint, input: CredentialsInput): string | undefined {
  return ofEndpoint(endpoint).replaceRefusal(input);
}

// ---- what leaves ----

/** The /v1 `auth` fields beyond `type` and `status`, secrets masked. */
export function presentAuth(e: Endpoint): PresentedAuth {
  return ofEndpoint(e).present(e);
}

/** OneSpan's `key` (masked) and `oauthSetting` of a `Callback`. */
export function presentCallbackAuth(e: Endpoint): PresentedCallbackAuth {
  return ofEndpoint(e).presentCallback(e);
}

export { KEEP, type AuthDraft, type SecretInput } from './draft.js';
