// OneSpan's salesforceOauth2 connector key (base64 JSON of host, client id, and a refresh token or
// a client secret): the OAuth settings of that Salesforce host, with its quirks (`flavor`).
// `/v1` takes it as `auth.salesforceKey`, OneSpan as `key` on the salesforceOauth2 connector.

import { SALESFORCE_KEY_AUTH } from '../../domain/auth-types.js';
import { isMasked, type Endpoint, type OAuthSettings } from '../../domain/endpoint.js';
import { parseSalesforceKey, salesforceTokenUrl } from '../../domain/salesforce-key.js';
import { invalid, KEEP, type AuthDraft } from './draft.js';
import { masked, type AuthModule } from './module.js';
import { OAUTH2_COMMON, type OAuth2Schema } from './oauth2.js';

/** A `salesforceOauth2` key as an OAuth draft; a masked key keeps the stored credential. */
export function salesforceAuth(key: string, existing: Endpoint | undefined): AuthDraft {
  if (isMasked(key)) {
    if (!existing?.oauth)
      throw invalid('key', 'is masked but no Salesforce credential is stored; send the full key');
    // Keep exactly what is stored: a refresh-token key usually has no client secret.
    return {
      type: 'OAUTH2',
      oauth: existing.oauth,
      clientSecret: existing.secrets.clientSecret === undefined ? null : KEEP,
      refreshToken: existing.secrets.refreshToken === undefined ? null : KEEP,
    };
  }
  const parsed = parseSalesforceKey(key);
  const oauth: OAuthSettings = {
    flavor: 'salesforce',
    grantType: parsed.refreshToken ? 'REFRESH_TOKEN' : 'CLIENT_CREDENTIALS',
    tokenUrl: salesforceTokenUrl(parsed.host),
    clientId: parsed.clientId,
    scope: null,
    authMechanism: 'BODY',
    customParameters: [],
  };
  return {
    type: 'OAUTH2',
    oauth,
    clientSecret: parsed.clientSecret,
    refreshToken: parsed.refreshToken,
  };
}

export const salesforce: AuthModule<typeof OAuth2Schema> = {
  declaration: SALESFORCE_KEY_AUTH,
  ...OAUTH2_COMMON,
  acceptsBody: (body) => body.salesforceKey !== undefined,
  fromBody: (body, existing) => salesforceAuth(body.salesforceKey!, existing),
  // On OneSpan's salesforceOauth2 connector, a `key` without `oauthSetting` is this key.
  acceptsCallback: (origin, body) =>
    !body.oauthSetting && origin === 'salesforceOauth2' && (body.key ?? '') !== '',
  fromCallback: (_origin, body, existing) => salesforceAuth(body.key!, existing),
  presentCallback: (e) => ({ key: masked(e.secrets.refreshToken ?? e.secrets.clientSecret) }),
};
