// The auth types an endpoint can use, declared once: what each is called, which secrets it keeps
// and where each may go, and how a delivery is authorized with it. Pure data; the services read
// it to parse, merge and present (services/auth/), the delivery side reads `authorization`, the
// console and the docs read the labels. To add a type, add its declaration here and its module
// in services/auth/ (docs/architecture.md, "Auth types").

import type { AuthType, EndpointSecrets, GrantType, OAuthSettings } from './endpoint.js';

/** One entry of the registry: a way a listener checks Herald. */
export type AuthKind =
  'NONE' | 'BASIC' | 'OAUTH2_CLIENT_CREDENTIALS' | 'OAUTH2_REFRESH_TOKEN' | 'SALESFORCE_KEY';

/** Where a stored secret is sent: a secret goes only to the origin it was given for. */
export type Destination = 'callback URL' | 'token endpoint';

/** A secret as requests name it (the field a `secret_required` refusal reports). */
export type SecretName = 'key' | 'clientSecret' | 'refreshToken';

export interface SecretSpec {
  /** Its name in requests (`key`, `auth/key`, `oauthSetting/clientSecret`: see SecretFields). */
  readonly name: SecretName;
  /** Where it is kept in the endpoint's sealed secrets. */
  readonly stored: keyof Pick<EndpointSecrets, 'basicKey' | 'clientSecret' | 'refreshToken'>;
  /** Where it is sent: it may not be kept when that destination's origin moves. */
  readonly destination: Destination;
}

/** The Authorization a delivery carries: none, `Basic <key>`, or a bearer token. */
export type AuthorizationKind = 'none' | 'basic' | 'bearer';

export interface AuthTypeDeclaration {
  readonly kind: AuthKind;
  /** The stored type, and `type` / `authType` in the APIs. */
  readonly type: AuthType;
  /** For OAuth types: which stored settings are this kind's (flavor and grant). */
  readonly oauth?: {
    readonly flavor: OAuthSettings['flavor'];
    readonly grantType?: GrantType;
  };
  /** A short name, for the docs and the console. */
  readonly label: string;
  /** One line for the docs: when to use it, and how it is chosen in a request. */
  readonly doc: string;
  /** Its secrets, in the order refusals name them. */
  readonly secrets: readonly SecretSpec[];
  /** How a delivery is authorized (delivery/credentials.ts). */
  readonly authorization: AuthorizationKind;
  /**
   * Whether its credential can be found dead: it starts `unverified`, becomes `ok` after a
   * delivery, and `reauthorization_required` holds deliveries until new credentials come.
   */
  readonly tracksStatus: boolean;
  /** The console form's choice (value and label); types that share a form section share it. */
  readonly form: { readonly choice: string; readonly label: string };
}

const CLIENT_SECRET: SecretSpec = {
  name: 'clientSecret',
  stored: 'clientSecret',
  destination: 'token endpoint',
};
const REFRESH_TOKEN: SecretSpec = {
  name: 'refreshToken',
  stored: 'refreshToken',
  destination: 'token endpoint',
};
/** What every OAuth 2.0 type is: a bearer token for secrets bound to the token endpoint. */
const OAUTH2 = {
  type: 'OAUTH2',
  secrets: [CLIENT_SECRET, REFRESH_TOKEN],
  authorization: 'bearer',
  tracksStatus: true,
} as const;
/** The console's generic OAuth section, where the grant is a field. */
const OAUTH2_FORM = {
  choice: 'OAUTH2',
  label: 'OAuth 2.0 (client credentials or refresh token)',
} as const;

export const NONE_AUTH: AuthTypeDeclaration = {
  kind: 'NONE',
  type: 'NONE',
  label: 'None',
  doc: 'No Authorization header (OneSpan: `key` empty or absent).',
  secrets: [],
  authorization: 'none',
  tracksStatus: false,
  form: { choice: 'NONE', label: 'None' },
};

export const BASIC_AUTH: AuthTypeDeclaration = {
  kind: 'BASIC',
  type: 'BASIC',
  label: 'Basic callback key',
  doc: "OneSpan's callback key, sent raw as `Authorization: Basic <key>` (OneSpan: a `key`).",
  secrets: [{ name: 'key', stored: 'basicKey', destination: 'callback URL' }],
  authorization: 'basic',
  tracksStatus: false,
  form: { choice: 'BASIC', label: 'Basic callback key (OneSpan)' },
};

export const OAUTH2_CLIENT_CREDENTIALS_AUTH: AuthTypeDeclaration = {
  ...OAUTH2,
  kind: 'OAUTH2_CLIENT_CREDENTIALS',
  oauth: { flavor: 'generic', grantType: 'CLIENT_CREDENTIALS' },
  label: 'OAuth 2.0 client credentials',
  doc: 'A bearer token from any token endpoint for the client id and secret (`grantType` `CLIENT_CREDENTIALS`, the default without a refresh token).',
  form: OAUTH2_FORM,
};

export const OAUTH2_REFRESH_TOKEN_AUTH: AuthTypeDeclaration = {
  ...OAUTH2,
  kind: 'OAUTH2_REFRESH_TOKEN',
  oauth: { flavor: 'generic', grantType: 'REFRESH_TOKEN' },
  label: 'OAuth 2.0 refresh token',
  doc: 'A bearer token from any token endpoint for a refresh token, rotated tokens kept (`grantType` `REFRESH_TOKEN`, the default with a refresh token).',
  form: OAUTH2_FORM,
};

export const SALESFORCE_KEY_AUTH: AuthTypeDeclaration = {
  ...OAUTH2,
  kind: 'SALESFORCE_KEY',
  oauth: { flavor: 'salesforce' },
  label: 'Salesforce key (salesforceOauth2)',
  doc: "OneSpan's salesforceOauth2 connector key (base64 JSON of host, client id and a refresh token or client secret): a bearer token from that Salesforce host (`/v1`: `salesforceKey`; OneSpan: `key` on the salesforceOauth2 connector).",
  form: { choice: 'SALESFORCE_KEY', label: 'Salesforce key (salesforceOauth2)' },
};

/** Every auth type, in the order the APIs, the console and the docs list them. */
export const AUTH_TYPE_DECLARATIONS: readonly AuthTypeDeclaration[] = [
  NONE_AUTH,
  BASIC_AUTH,
  OAUTH2_CLIENT_CREDENTIALS_AUTH,
  OAUTH2_REFRESH_TOKEN_AUTH,
  SALESFORCE_KEY_AUTH,
];

function unique<T>(values: readonly T[]): [T, ...T[]] {
  return [...new Set(values)] as [T, ...T[]];
}

/** The stored and API auth types (`NONE`, `BASIC`, `OAUTH2`), for enums. */
export const AUTH_TYPES = unique(AUTH_TYPE_DECLARATIONS.map((d) => d.type));

/** The OAuth grants the registry knows, for enums. */
export const GRANT_TYPES = unique(
  AUTH_TYPE_DECLARATIONS.flatMap((d) => (d.oauth?.grantType ? [d.oauth.grantType] : [])),
);

/** The console form's auth choices, one per form section, in the registry's order. */
export const AUTH_FORM_CHOICES: ReadonlyArray<AuthTypeDeclaration['form']> = [
  ...new Map(AUTH_TYPE_DECLARATIONS.map((d) => [d.form.choice, d.form])).values(),
];

/**
 * Which declaration an endpoint (or a draft) uses, from its type and OAuth settings. An OAuth
 * type without settings counts as its first declaration.
 */
export function authDeclarationOf(auth: {
  readonly type: AuthType;
  readonly oauth: OAuthSettings | null;
}): AuthTypeDeclaration {
  return declarationOf(auth.type, auth.oauth);
}

/** How a delivery to this endpoint is authorized (the lookup of delivery/credentials.ts). */
export function authorizationOf(endpoint: {
  readonly authType: AuthType;
  readonly oauth: OAuthSettings | null;
}): AuthorizationKind {
  return declarationOf(endpoint.authType, endpoint.oauth).authorization;
}

/** Whether deliveries to this endpoint carry a bearer token from the token manager. */
export function usesTokens(endpoint: {
  readonly authType: AuthType;
  readonly oauth: OAuthSettings | null;
}): boolean {
  return authorizationOf(endpoint) === 'bearer';
}

/** Whether the endpoint's credential can be found dead (its `auth.status` means something). */
export function tracksAuthStatus(endpoint: {
  readonly authType: AuthType;
  readonly oauth: OAuthSettings | null;
}): boolean {
  return declarationOf(endpoint.authType, endpoint.oauth).tracksStatus;
}

// A loop over five entries, allocating nothing: it runs for every delivery attempt.
function declarationOf(type: AuthType, oauth: OAuthSettings | null): AuthTypeDeclaration {
  let first: AuthTypeDeclaration | undefined;
  for (const d of AUTH_TYPE_DECLARATIONS) {
    if (d.type !== type) continue;
    first ??= d;
    if (
      d.oauth === undefined ||
      (oauth !== null &&
        d.oauth.flavor === oauth.flavor &&
        (d.oauth.grantType === undefined || d.oauth.grantType === oauth.grantType))
    ) {
      return d;
    }
  }
  if (!first) throw new Error(`no auth type ${type}`);
  return first;
}
