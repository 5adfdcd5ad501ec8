// The auth type registry: every declared type has its module, each endpoint and draft finds its
// type, requests become the drafts they did before the registry, and secrets merge, bind and
// present by the declarations.

import { describe, expect, it } from 'vitest';
import {
  AUTH_FORM_CHOICES,
  AUTH_TYPE_DECLARATIONS,
  AUTH_TYPES,
  GRANT_TYPES,
  authDeclarationOf,
  authorizationOf,
  tracksAuthStatus,
  usesTokens,
  type AuthKind,
} from '../../src/domain/auth-types.js';
import {
  DEFAULT_ENDPOINT_OPTIONS,
  type Endpoint,
  type OAuthSettings,
} from '../../src/domain/endpoint.js';
import type { AccountId, EndpointId } from '../../src/domain/ids.js';
import { HeraldError } from '../../src/errors.js';
import {
  AuthSchema,
  KEEP,
  authFromBody,
  authFromCallback,
  authModuleOf,
  keepLeftOut,
  newCredentials,
  presentAuth,
  presentCallbackAuth,
  replaceRefusal,
  secretsFor,
  statusAfter,
} from '../../src/services/auth/index.js';
import { CallbackSchema } from '../../src/services/schemas.js';
import { NATIVE_FIELDS, SecretMoves } from '../../src/services/secret-binding.js';

const generic = (grantType: OAuthSettings['grantType'], tokenUrl = 'https://idp.example/token') =>
  ({
    flavor: 'generic',
    grantType,
    tokenUrl,
    clientId: 'cid',
    scope: null,
    authMechanism: 'HEADER',
    customParameters: [],
  }) satisfies OAuthSettings;
const salesforceSettings: OAuthSettings = {
  ...generic('REFRESH_TOKEN', 'https://login.salesforce.com/services/oauth2/token'),
  flavor: 'salesforce',
  authMechanism: 'BODY',
};

function endpoint(over: Partial<Endpoint>): Endpoint {
  return {
    id: 'ep_1' as EndpointId,
    accountId: 'acc_1' as AccountId,
    origin: null,
    url: 'https://listener.example/cb',
    events: ['*'],
    description: null,
    authType: 'NONE',
    authStatus: 'ok',
    oauth: null,
    secrets: {},
    customHeaders: [],
    options: DEFAULT_ENDPOINT_OPTIONS,
    state: 'enabled',
    disabledReason: null,
    failingSince: null,
    createdAt: 0,
    updatedAt: 0,
    version: 1,
    ...over,
  };
}

const basicEndpoint = endpoint({ authType: 'BASIC', secrets: { basicKey: 'basic-secret-1' } });
const ccEndpoint = endpoint({
  authType: 'OAUTH2',
  authStatus: 'ok',
  oauth: generic('CLIENT_CREDENTIALS'),
  secrets: { clientSecret: 'client-secret-1', credentialsSetAt: 5 },
});
const rtEndpoint = endpoint({
  authType: 'OAUTH2',
  oauth: generic('REFRESH_TOKEN'),
  secrets: { refreshToken: 'refresh-token-1' },
});
const sfEndpoint = endpoint({
  authType: 'OAUTH2',
  origin: 'salesforceOauth2',
  oauth: salesforceSettings,
  secrets: { refreshToken: 'refresh-token-2' },
});

const sfKey = Buffer.from(
  JSON.stringify({ host: 'https://login.salesforce.com', client_id: 'cid', refresh_token: 'rt' }),
).toString('base64');

function thrown(fn: () => unknown): HeraldError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HeraldError);
    return err as HeraldError;
  }
  throw new Error('expected an error');
}

describe('the declarations', () => {
  it('give every kind one module, and derive the enums', () => {
    for (const d of AUTH_TYPE_DECLARATIONS) {
      expect(authModuleOf({ type: d.type, oauth: null }).declaration.type).toBe(d.type);
    }
    expect(new Set(AUTH_TYPE_DECLARATIONS.map((d) => d.kind)).size).toBe(5);
    expect(AUTH_TYPES).toEqual(['NONE', 'BASIC', 'OAUTH2']);
    expect(GRANT_TYPES).toEqual(['CLIENT_CREDENTIALS', 'REFRESH_TOKEN']);
    expect(AUTH_FORM_CHOICES.map((c) => c.choice)).toEqual([
      'NONE',
      'BASIC',
      'OAUTH2',
      'SALESFORCE_KEY',
    ]);
  });

  it.each<[string, Endpoint, AuthKind, string]>([
    ['none', endpoint({}), 'NONE', 'none'],
    ['basic', basicEndpoint, 'BASIC', 'basic'],
    ['client credentials', ccEndpoint, 'OAUTH2_CLIENT_CREDENTIALS', 'bearer'],
    ['refresh token', rtEndpoint, 'OAUTH2_REFRESH_TOKEN', 'bearer'],
    ['salesforce', sfEndpoint, 'SALESFORCE_KEY', 'bearer'],
    [
      'OAuth without settings',
      endpoint({ authType: 'OAUTH2' }),
      'OAUTH2_CLIENT_CREDENTIALS',
      'bearer',
    ],
  ])('%s: the endpoint is its kind, authorized as declared', (_, e, kind, authorization) => {
    expect(authDeclarationOf({ type: e.authType, oauth: e.oauth }).kind).toBe(kind);
    expect(authorizationOf(e)).toBe(authorization);
    // What the console and the token tools ask: a bearer token, and a status that can go dead.
    expect(usesTokens(e)).toBe(authorization === 'bearer');
    expect(tracksAuthStatus(e)).toBe(authorization === 'bearer');
  });
});

describe('what enters', () => {
  it.each<[string, unknown, string]>([
    ['none', { type: 'NONE' }, 'NONE'],
    ['basic', { type: 'BASIC', key: 'k' }, 'BASIC'],
    [
      'client credentials by default',
      { type: 'OAUTH2', tokenUrl: 'https://idp.example/t', clientId: 'c', clientSecret: 's' },
      'OAUTH2_CLIENT_CREDENTIALS',
    ],
    [
      'refresh token when one is sent',
      { type: 'OAUTH2', tokenUrl: 'https://idp.example/t', clientId: 'c', refreshToken: 'r' },
      'OAUTH2_REFRESH_TOKEN',
    ],
    ['a salesforce key', { type: 'OAUTH2', salesforceKey: sfKey }, 'SALESFORCE_KEY'],
  ])('/v1 %s', (_, body, kind) => {
    const draft = authFromBody(AuthSchema.parse(body), undefined);
    expect(
      authModuleOf({ type: draft.type, oauth: 'oauth' in draft ? draft.oauth : null }).declaration
        .kind,
    ).toBe(kind);
  });

  it('/v1: a masked Basic key is KEEP; no auth is NONE', () => {
    expect(authFromBody({ type: 'BASIC', key: '****abcd' }, basicEndpoint)).toEqual({
      type: 'BASIC',
      key: KEEP,
    });
    expect(authFromBody(undefined, undefined)).toEqual({ type: 'NONE' });
  });

  it.each<[string, unknown, string]>([
    [
      'the required secret of the grant',
      { type: 'OAUTH2', grantType: 'REFRESH_TOKEN', tokenUrl: 'https://i/t', clientId: 'c' },
      'refreshToken is required with grantType REFRESH_TOKEN',
    ],
    [
      'a grant parameter as custom parameter',
      {
        type: 'OAUTH2',
        tokenUrl: 'https://i/t',
        clientId: 'c',
        clientSecret: 's',
        customParameters: [{ key: 'grant_type', value: 'x' }],
      },
      'customParameters/0/key grant_type is set by Herald for the grant and cannot be overridden',
    ],
    ['no client id', { type: 'OAUTH2', tokenUrl: 'https://i/t' }, 'clientId is required'],
  ])('/v1 refuses %s', (_, body, message) => {
    expect(thrown(() => authFromBody(AuthSchema.parse(body), undefined)).message).toBe(message);
  });

  it.each<[string, 'default' | 'salesforceOauth2', unknown, string]>([
    ['no key: none', 'default', { url: 'u' }, 'NONE'],
    ['a key: basic', 'default', { url: 'u', key: 'k' }, 'BASIC'],
    [
      'a key on salesforceOauth2: salesforce',
      'salesforceOauth2',
      { url: 'u', key: sfKey },
      'SALESFORCE_KEY',
    ],
    [
      'oauthSetting: its grant',
      'default',
      {
        url: 'u',
        authType: 'OAUTH2',
        oauthSetting: { clientId: 'c', authorizationServerUrl: 'https://i/t', refreshToken: 'r' },
      },
      'OAUTH2_REFRESH_TOKEN',
    ],
  ])('/api/callback: %s', (_, origin, body, kind) => {
    const draft = authFromCallback(origin, CallbackSchema.parse(body), undefined);
    expect(
      authModuleOf({ type: draft.type, oauth: 'oauth' in draft ? draft.oauth : null }).declaration
        .kind,
    ).toBe(kind);
  });

  it.each<[string, unknown, string]>([
    [
      'OAUTH2 without oauthSetting',
      { url: 'u', authType: 'OAUTH2' },
      'oauthSetting is required when authType is OAUTH2',
    ],
    [
      'BASIC without key',
      { url: 'u', authType: 'BASIC' },
      'key is required when authType is BASIC',
    ],
    [
      'oauthSetting under OneSpan names',
      { url: 'u', authType: 'OAUTH2', oauthSetting: { clientId: 'c' } },
      'oauthSetting/authorizationServerUrl is required (the token endpoint URL)',
    ],
  ])('/api/callback refuses %s', (_, body, message) => {
    expect(
      thrown(() => authFromCallback('default', CallbackSchema.parse(body), undefined)).message,
    ).toBe(message);
  });
});

describe('what is stored', () => {
  const moves = (before: Endpoint | undefined, url: string, tokenUrl: string | null) =>
    new SecretMoves(before, { url, tokenUrl }, NATIVE_FIELDS);

  it('merges masked secrets with the stored ones, and stamps new OAuth credentials', () => {
    const m = moves(ccEndpoint, ccEndpoint.url, ccEndpoint.oauth!.tokenUrl);
    const kept = {
      type: 'OAUTH2',
      oauth: ccEndpoint.oauth!,
      clientSecret: KEEP,
      refreshToken: null,
    } as const;
    expect(secretsFor(kept, ccEndpoint.secrets, ccEndpoint, m, () => 9)).toEqual({
      signingSecrets: undefined,
      clientSecret: 'client-secret-1',
      refreshToken: undefined,
      credentialsSetAt: 5,
    });
    expect(newCredentials(kept, ccEndpoint)).toBe(false);
    const sent = { ...kept, clientSecret: 'client-secret-2' };
    expect(secretsFor(sent, ccEndpoint.secrets, ccEndpoint, m, () => 9).credentialsSetAt).toBe(9);
    expect(newCredentials(sent, ccEndpoint)).toBe(true);
    expect(statusAfter(sent, ccEndpoint, true)).toBe('unverified');
    expect(statusAfter(kept, ccEndpoint, false)).toBe('ok');
    m.check();
  });

  it('refuses a kept secret whose destination moves, naming the field', () => {
    const m = moves(basicEndpoint, 'https://elsewhere.example/cb', null);
    secretsFor({ type: 'BASIC', key: KEEP }, basicEndpoint.secrets, basicEndpoint, m, () => 0);
    const err = thrown(() => m.check());
    expect(err.code).toBe('secret_required');
    expect(err.message).toMatch(/^auth\/key is masked, and the callback URL moves/);
    const left = moves(basicEndpoint, 'https://elsewhere.example/cb', null);
    keepLeftOut(basicEndpoint, left);
    expect(thrown(() => left.check()).message).toMatch(/^auth\/key is left out/);
  });

  it('says what new credentials each type needs', () => {
    expect(replaceRefusal(endpoint({}), { key: 'k' })).toBe(
      'This endpoint uses no authentication; change its auth instead',
    );
    expect(replaceRefusal(basicEndpoint, {})).toBe('Send the new callback key as `key`');
    expect(replaceRefusal(basicEndpoint, { key: 'k' })).toBeUndefined();
    expect(replaceRefusal(sfEndpoint, {})).toBe(
      'Send a new `refreshToken`, `clientSecret` or `salesforceKey`',
    );
    expect(replaceRefusal(rtEndpoint, { refreshToken: 'r' })).toBeUndefined();
  });
});

describe('what leaves', () => {
  it.each<[string, Endpoint, string | null, boolean]>([
    ['none', endpoint({}), null, false],
    ['basic', basicEndpoint, '****et-1', false],
    ['client credentials', ccEndpoint, null, true],
    ['salesforce', sfEndpoint, '****en-2', false],
  ])(
    '%s: OneSpan sees its key masked, and oauthSetting for a generic grant',
    (_, e, key, setting) => {
      const shown = presentCallbackAuth(e);
      expect(shown.key).toBe(key);
      expect(shown.oauthSetting !== undefined).toBe(setting);
    },
  );

  it('/v1 shows the OAuth settings and masked secrets, or the masked Basic key', () => {
    expect(presentAuth(basicEndpoint)).toEqual({ key: '****et-1' });
    expect(presentAuth(endpoint({}))).toEqual({});
    expect(presentAuth(sfEndpoint)).toMatchObject({
      flavor: 'salesforce',
      clientSecret: null,
      refreshToken: '****en-2',
    });
  });
});
