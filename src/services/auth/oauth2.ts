// What the OAuth 2.0 auth types share: the /v1 `auth` object and OneSpan's `oauthSetting`, the
// parsing of the generic settings, the stored secrets (client secret and refresh token, bound to
// the token endpoint's origin), and how they are presented. The grants and the Salesforce key
// are modules of their own (oauth2-*.ts, salesforce.ts).

import { z } from 'zod';
import { GRANT_TYPES, type AuthTypeDeclaration, type SecretName } from '../../domain/auth-types.js';
import type { Endpoint, GrantType, OAuthSettings } from '../../domain/endpoint.js';
import type { CallbackBody } from '../schemas.js';
import { invalid, KeyValueSchema, secretInput, type AuthDraft, type SecretInput } from './draft.js';
import { masked, type AuthModule, type PresentedAuth } from './module.js';

const AuthMechanism = z.enum(['HEADER', 'BASIC_AUTH', 'BODY']);

/** The /v1 `auth` object of type OAUTH2 (every OAuth module reads it). */
export const OAuth2Schema = z.object({
  type: z.literal('OAUTH2'),
  /** A `salesforceOauth2` key (base64 JSON), instead of the fields below. */
  salesforceKey: z.string().optional(),
  grantType: z.enum(GRANT_TYPES).optional(),
  tokenUrl: z.string().optional(),
  clientId: z.string().optional(),
  clientSecret: z.string().optional(),
  refreshToken: z.string().optional(),
  scope: z.string().nullable().optional(),
  authMechanism: AuthMechanism.optional(),
  customParameters: z.array(KeyValueSchema).optional(),
});
export type OAuth2Body = z.output<typeof OAuth2Schema>;

/** OneSpan's `oauthSetting` of a `Callback`. */
export const OAuthSettingSchema = z.object({
  clientId: z.string().nullish(),
  clientSecret: z.string().nullish(),
  authorizationServerUrl: z.string().nullish(),
  scope: z.string().nullish(),
  grantType: z.enum(GRANT_TYPES).nullish(),
  refreshToken: z.string().nullish(),
  authMechanism: AuthMechanism.nullish(),
  customParameters: z.array(KeyValueSchema).nullish(),
});

/** The generic settings as both APIs send them. */
interface OAuthFields {
  grantType?: GrantType | undefined;
  tokenUrl?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  refreshToken?: string | undefined;
  scope?: string | null | undefined;
  authMechanism?: 'HEADER' | 'BASIC_AUTH' | 'BODY' | undefined;
  customParameters?: ReadonlyArray<{ key: string; value: string }> | undefined;
}

/** OneSpan's `oauthSetting` under the /v1 names. */
function callbackFields(s: NonNullable<CallbackBody['oauthSetting']>): OAuthFields {
  return {
    grantType: s.grantType ?? undefined,
    tokenUrl: s.authorizationServerUrl ?? undefined,
    clientId: s.clientId ?? undefined,
    clientSecret: s.clientSecret ?? undefined,
    refreshToken: s.refreshToken ?? undefined,
    scope: s.scope ?? null,
    authMechanism: s.authMechanism ?? undefined,
    customParameters: s.customParameters ?? undefined,
  };
}

/** The grant asked for: as named, else refresh token when one is sent, else client credentials. */
function grantOf(f: OAuthFields): GrantType {
  return f.grantType ?? (f.refreshToken ? 'REFRESH_TOKEN' : 'CLIENT_CREDENTIALS');
}

/** Token request parameters the grant itself sends: a custom parameter may not replace them. */
const GRANT_PARAMETERS: ReadonlySet<string> = new Set([
  'grant_type',
  'client_id',
  'client_secret',
  'refresh_token',
  'client_assertion',
  'client_assertion_type',
]);

/** Generic settings as a draft of `grantType`, which needs the secret `required`. */
function genericOAuth(
  f: OAuthFields,
  at: string,
  existing: Endpoint | undefined,
  grantType: GrantType,
  required: 'clientSecret' | 'refreshToken',
): AuthDraft {
  if (!f.clientId) throw invalid(`${at}clientId`, 'is required');
  const tokenUrlName = at === '' ? 'tokenUrl' : `${at}authorizationServerUrl`;
  if (!f.tokenUrl) throw invalid(tokenUrlName, 'is required (the token endpoint URL)');
  const secrets: Record<typeof required, SecretInput | null> = {
    clientSecret: f.clientSecret ? secretInput(f.clientSecret) : null,
    refreshToken: f.refreshToken ? secretInput(f.refreshToken) : null,
  };
  if (secrets[required] === null) {
    throw invalid(`${at}${required}`, `is required with grantType ${grantType}`);
  }
  (f.customParameters ?? []).forEach((p, i) => {
    const path = `${at}customParameters/${i}/key`;
    if (p.key === '') throw invalid(path, 'must not be empty');
    if (GRANT_PARAMETERS.has(p.key)) {
      throw invalid(path, `${p.key} is set by Herald for the grant and cannot be overridden`);
    }
  });
  const oauth: OAuthSettings = {
    flavor:
      existing?.oauth?.flavor === 'salesforce' && existing.oauth.tokenUrl === f.tokenUrl
        ? 'salesforce'
        : 'generic',
    grantType,
    tokenUrl: f.tokenUrl.trim(),
    clientId: f.clientId,
    scope: f.scope ?? null,
    authMechanism: f.authMechanism ?? 'HEADER',
    customParameters: f.customParameters ?? [],
  };
  return { type: 'OAUTH2', oauth, ...secrets };
}

/** The /v1 `auth` of an OAuth endpoint: its settings and its secrets masked. */
export function presentOAuth(e: Endpoint): PresentedAuth {
  return e.oauth
    ? {
        flavor: e.oauth.flavor,
        grantType: e.oauth.grantType,
        tokenUrl: e.oauth.tokenUrl,
        clientId: e.oauth.clientId,
        scope: e.oauth.scope,
        authMechanism: e.oauth.authMechanism,
        customParameters: e.oauth.customParameters,
        clientSecret: masked(e.secrets.clientSecret),
        refreshToken: masked(e.secrets.refreshToken),
      }
    : {};
}

/** What every OAuth module does alike: its secrets, its settings, replacing credentials. */
export const OAUTH2_COMMON = {
  schema: OAuth2Schema,
  inputs: (auth: AuthDraft): Partial<Record<SecretName, SecretInput | null>> =>
    auth.type === 'OAUTH2'
      ? { clientSecret: auth.clientSecret, refreshToken: auth.refreshToken }
      : {},
  settingsChanged: (auth: AuthDraft, before: Endpoint | undefined) =>
    auth.type === 'OAUTH2' && JSON.stringify(auth.oauth) !== JSON.stringify(before?.oauth),
  present: presentOAuth,
  replaceRefusal: (input: { refreshToken?: string; clientSecret?: string; oauth?: unknown }) =>
    !input.refreshToken && !input.clientSecret && !input.oauth
      ? 'Send a new `refreshToken`, `clientSecret` or `salesforceKey`'
      : undefined,
} as const;

/** A generic OAuth grant's module: any token endpoint, settings sent field by field. */
export function genericOAuthModule(
  declaration: AuthTypeDeclaration,
  required: 'clientSecret' | 'refreshToken',
): AuthModule<typeof OAuth2Schema> {
  const grantType = declaration.oauth?.grantType;
  if (!grantType) throw new Error(`${declaration.kind} declares no grant`);
  return {
    declaration,
    ...OAUTH2_COMMON,
    acceptsBody: (body) => body.salesforceKey === undefined && grantOf(body) === grantType,
    fromBody: (body, existing) => genericOAuth(body, '', existing, grantType, required),
    acceptsCallback: (_origin, body) =>
      !!body.oauthSetting && grantOf(callbackFields(body.oauthSetting)) === grantType,
    fromCallback: (_origin, body, existing) =>
      genericOAuth(
        callbackFields(body.oauthSetting!),
        'oauthSetting/',
        existing,
        grantType,
        required,
      ),
    presentCallback: (e) => ({
      key: null,
      ...(e.oauth
        ? {
            oauthSetting: {
              clientId: e.oauth.clientId,
              clientSecret: masked(e.secrets.clientSecret),
              authorizationServerUrl: e.oauth.tokenUrl,
              scope: e.oauth.scope,
              grantType: e.oauth.grantType,
              refreshToken: masked(e.secrets.refreshToken),
              authMechanism: e.oauth.authMechanism,
              customParameters: e.oauth.customParameters,
            },
          }
        : {}),
    }),
  };
}
