// One token request (refresh-token or client-credentials grant) with oauth4webapi, split as
// oauth4webapi splits it: make the request, then process the response. Returns a result, never
// throws: the token manager decides what a failure means.

import * as oauth from 'oauth4webapi';
import type { Endpoint, OAuthSettings } from '../domain/endpoint.js';
import { storableText } from '../domain/json-shape.js';
import { redact } from '../domain/redact.js';
import { spanUrl, type Tracer } from '../observability/tracing.js';
import {
  classifyTokenError,
  explainTokenError,
  type TokenErrorKind,
} from '../domain/token-errors.js';

export interface GrantInput {
  readonly oauth: OAuthSettings;
  readonly clientSecret: string | undefined;
  /** The refresh token to use (refresh-token grant). */
  readonly refreshToken: string | undefined;
}

export type GrantResult =
  | {
      readonly ok: true;
      readonly accessToken: string;
      /** A new refresh token when the server rotated it; undefined when it sent none. */
      readonly refreshToken: string | undefined;
      readonly expiresIn: number | undefined;
      readonly instanceUrl: string | undefined;
      /** Salesforce's identity URL (`id`), for "who is this token?". */
      readonly identityUrl: string | undefined;
      readonly scope: string | undefined;
    }
  | {
      readonly ok: false;
      readonly kind: TokenErrorKind;
      /** True when the request may have reached the server (its answer was lost). */
      readonly ambiguous: boolean;
      readonly status: number | null;
      readonly error: string | undefined;
      /** For people and logs; never contains a token. */
      readonly message: string;
    };

function clientAuth(settings: OAuthSettings, secret: string | undefined): oauth.ClientAuth {
  if (!secret) return oauth.None();
  return settings.authMechanism === 'BODY'
    ? oauth.ClientSecretPost(secret)
    : oauth.ClientSecretBasic(secret);
}

export async function requestToken(
  input: GrantInput,
  fetchImpl: typeof fetch,
): Promise<GrantResult> {
  const { oauth: settings } = input;
  const as: oauth.AuthorizationServer = {
    issuer: new URL(settings.tokenUrl).origin,
    token_endpoint: settings.tokenUrl,
  };
  const client: oauth.Client = { client_id: settings.clientId };
  const auth = clientAuth(settings, input.clientSecret);
  const extra = new URLSearchParams(
    settings.customParameters.map((p): [string, string] => [p.key, p.value]),
  );
  const options = {
    [oauth.customFetch]: fetchImpl,
    [oauth.allowInsecureRequests]: settings.tokenUrl.startsWith('http:'),
    additionalParameters: extra,
  };
  let response: Response;
  try {
    if (settings.grantType === 'REFRESH_TOKEN') {
      if (!input.refreshToken) {
        return {
          ok: false,
          kind: 'terminal',
          ambiguous: false,
          status: null,
          error: undefined,
          message: 'No refresh token is stored for this endpoint',
        };
      }
      response = await oauth.refreshTokenGrantRequest(
        as,
        client,
        auth,
        input.refreshToken,
        options,
      );
    } else {
      const parameters = new URLSearchParams(extra);
      if (settings.scope) parameters.set('scope', settings.scope);
      response = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, {
        [oauth.customFetch]: fetchImpl,
        [oauth.allowInsecureRequests]: settings.tokenUrl.startsWith('http:'),
      });
    }
  } catch (error) {
    const cause =
      error instanceof Error
        ? ((error.cause as Error | undefined)?.message ?? error.message)
        : String(error);
    return {
      ok: false,
      kind: 'transient',
      ambiguous: true,
      status: null,
      error: undefined,
      message: `The token endpoint could not be reached: ${cause}`,
    };
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    return {
      ok: false,
      kind: 'transient',
      ambiguous: false,
      status: response.status,
      error: undefined,
      message: `The token endpoint answered HTTP ${response.status}`,
    };
  }
  try {
    const result =
      settings.grantType === 'REFRESH_TOKEN'
        ? await oauth.processRefreshTokenResponse(as, client, response)
        : await oauth.processClientCredentialsResponse(as, client, response);
    return {
      ok: true,
      accessToken: result.access_token,
      refreshToken: result.refresh_token,
      expiresIn: typeof result.expires_in === 'number' ? result.expires_in : undefined,
      instanceUrl: typeof result.instance_url === 'string' ? result.instance_url : undefined,
      identityUrl: typeof result.id === 'string' ? result.id : undefined,
      scope: result.scope,
    };
  } catch (error) {
    // The token endpoint's words end up in logs and stores: made storable first, and without
    // the secrets Herald sent it (a server may repeat a wrong client secret in its refusal).
    const sent = [input.clientSecret, input.refreshToken];
    const storable = (text: string) => redact(storableText(text), sent);
    if (error instanceof oauth.ResponseBodyError) {
      const code = storable(error.error);
      const description =
        error.error_description === undefined ? undefined : storable(error.error_description);
      const kind = classifyTokenError(error.status, code, description);
      return {
        ok: false,
        kind,
        ambiguous: false,
        status: error.status,
        error: code,
        message:
          kind === 'terminal'
            ? explainTokenError(code, description)
            : `${code}: ${description ?? ''}`.trim(),
      };
    }
    const kind = classifyTokenError(response.status, undefined, undefined);
    return {
      ok: false,
      kind,
      ambiguous: false,
      status: response.status,
      error: undefined,
      message: storable(
        `The token endpoint's answer (HTTP ${response.status}) is not a valid token response: ${error instanceof Error ? error.message : String(error)}`,
      ),
    };
  }
}

/** One token request, as an HTTP client span when tracing (never a token in it). */
export async function tracedTokenRequest(
  tracer: Tracer | undefined,
  endpoint: Endpoint,
  grant: string,
  request: () => Promise<GrantResult>,
): Promise<GrantResult> {
  if (!tracer?.on) return request();
  const span = tracer.start('POST', {
    kind: 'client',
    attributes: {
      'http.request.method': 'POST',
      'url.full': spanUrl(endpoint.oauth!.tokenUrl),
      'herald.endpoint.id': endpoint.id,
      'herald.oauth.grant': grant,
    },
  });
  try {
    const result = await request();
    if (!result.ok) {
      span.setAttributes({
        'herald.oauth.outcome': result.kind,
        ...(result.status === null ? {} : { 'http.response.status_code': result.status }),
        'error.type': result.error ?? result.kind,
      });
      span.fail(result.message);
    } else {
      span.setAttributes({ 'herald.oauth.outcome': 'success', 'http.response.status_code': 200 });
    }
    return result;
  } finally {
    span.end();
  }
}
