// Connect (or reconnect) an endpoint's Salesforce grant from a browser: the Web Server flow with
// PKCE S256 and a random state (oauth/web-flow.ts), begun for one endpoint and finished by storing
// the new refresh token through the same path as `PUT /v1/endpoints/{id}/credentials`, so the
// endpoint's held deliveries are released. The caller keeps the pending flow between the two
// halves (the console seals it into a short-lived cookie); nothing here is kept in memory.

import { ValidationError } from '../errors.js';
import type { Endpoint, OAuthSettings } from '../domain/endpoint.js';
import { parseId, type AccountId, type EndpointId } from '../domain/ids.js';
import {
  beginAuthorization,
  completeAuthorization,
  DEFAULT_SCOPE,
  WebFlowError,
  type WebFlowErrorCode,
  type WebFlowOptions,
} from '../oauth/web-flow.js';
import {
  checkCustomHeaders,
  normaliseEventFilter,
  type DestinationCheck,
  type EndpointDraft,
  type EndpointService,
} from './endpoints.js';

/** Where production and sandbox orgs log in; a My Domain is given as its own URL. */
export const SALESFORCE_LOGIN_URLS = {
  production: 'https://login.salesforce.com',
  sandbox: 'https://test.salesforce.com',
} as const;

/**
 * A new endpoint to create once the grant is there: everything but its auth, and the connected
 * app to log in to (its secret, when the app requires one, is sealed with the rest).
 */
export interface NewEndpointPlan {
  readonly draft: Omit<EndpointDraft, 'auth'>;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
}

/**
 * A flow begun for an endpoint, or for a new one: what finishing it needs. Holds the PKCE
 * verifier (and a new endpoint's client secret): keep it secret.
 */
export interface PendingConnect {
  readonly accountId: AccountId;
  /** The endpoint to reconnect, or null to create `plan`'s. */
  readonly endpointId: EndpointId | null;
  readonly plan?: NewEndpointPlan | undefined;
  readonly loginUrl: string;
  readonly redirectUri: string;
  readonly state: string;
  readonly codeVerifier: string;
}

export type ConnectOutcome =
  | {
      readonly ok: true;
      readonly endpoint: Endpoint;
      readonly instanceUrl: string | undefined;
      /** A new endpoint's signing secret, to show once. */
      readonly signingSecret: string | null;
    }
  | { readonly ok: false; readonly reason: WebFlowErrorCode; readonly message: string };

/** Whether an endpoint's grant can be (re)connected with the Web Server flow. */
export function connectable(endpoint: Endpoint): boolean {
  return endpoint.authType === 'OAUTH2' && endpoint.oauth?.grantType === 'REFRESH_TOKEN';
}

/** The login host of a Salesforce token URL (`{host}/services/oauth2/token`), if it is one. */
export function loginUrlOf(endpoint: Endpoint): string | undefined {
  const tokenUrl = endpoint.oauth?.tokenUrl;
  if (!tokenUrl?.endsWith('/services/oauth2/token')) return undefined;
  return tokenUrl.slice(0, -'/services/oauth2/token'.length);
}

/** A login URL as the flow uses it: an http(s) origin, without path or trailing slash. */
export function normaliseLoginUrl(raw: string): string {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new ValidationError('invalid_url', `The login URL ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationError('invalid_url', 'The login URL must be an https URL');
  }
  return url.origin;
}

/** The OAuth settings of a Salesforce refresh-token grant at a login host. */
function salesforceSettings(loginUrl: string, clientId: string): OAuthSettings {
  return {
    flavor: 'salesforce',
    grantType: 'REFRESH_TOKEN',
    tokenUrl: `${loginUrl}/services/oauth2/token`,
    clientId,
    scope: null,
    authMechanism: 'BODY',
    customParameters: [],
  };
}

export class WebConnect {
  constructor(
    private readonly endpoints: EndpointService,
    private readonly checkDestination: DestinationCheck,
    private readonly fetchImpl: typeof fetch,
  ) {}

  private options(
    app: { clientId: string; clientSecret: string | undefined; scope: string | null },
    loginUrl: string,
    redirectUri: string,
  ): WebFlowOptions {
    return {
      loginUrl,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      scope: app.scope ?? DEFAULT_SCOPE,
      redirectUri,
    };
  }

  private appOf(endpoint: Endpoint) {
    return {
      clientId: endpoint.oauth!.clientId,
      clientSecret: endpoint.secrets.clientSecret,
      scope: endpoint.oauth!.scope,
    };
  }

  private async connectableEndpoint(accountId: AccountId, id: EndpointId): Promise<Endpoint> {
    const endpoint = await this.endpoints.get(accountId, id);
    if (!connectable(endpoint)) {
      throw new ValidationError(
        'invalid_credentials',
        'Connect works for endpoints that use OAuth 2.0 with a refresh token (Salesforce)',
      );
    }
    return endpoint;
  }

  private async start(
    app: { clientId: string; clientSecret: string | undefined; scope: string | null },
    loginUrl: string,
    redirectUri: string,
  ): Promise<{ url: string; login: string; state: string; codeVerifier: string }> {
    const login = normaliseLoginUrl(loginUrl);
    // Checked before anyone is sent to log in: Herald will exchange the code there.
    await this.checkDestination(`${login}/services/oauth2/token`);
    const started = await beginAuthorization(this.options(app, login, redirectUri));
    return { url: started.url, login, state: started.state, codeVerifier: started.codeVerifier };
  }

  /** Builds the authorization URL (PKCE S256, random state) for the endpoint's connected app. */
  async begin(
    accountId: AccountId,
    endpointId: EndpointId,
    loginUrl: string,
    redirectUri: string,
  ): Promise<{ readonly url: string; readonly pending: PendingConnect }> {
    const endpoint = await this.connectableEndpoint(accountId, endpointId);
    const started = await this.start(this.appOf(endpoint), loginUrl, redirectUri);
    return {
      url: started.url,
      pending: {
        accountId,
        endpointId,
        loginUrl: started.login,
        redirectUri,
        state: started.state,
        codeVerifier: started.codeVerifier,
      },
    };
  }

  /**
   * The same for an endpoint that does not exist yet: its settings are checked now (as creating
   * it would), so a mistake shows before anyone logs in; it is created when the grant arrives.
   */
  async beginNew(
    accountId: AccountId,
    plan: NewEndpointPlan,
    loginUrl: string,
    redirectUri: string,
  ): Promise<{ readonly url: string; readonly pending: PendingConnect }> {
    if (plan.clientId.trim() === '') {
      throw new ValidationError('validation_failed', 'The consumer key (client id) is required');
    }
    await this.checkDestination(plan.draft.url);
    checkCustomHeaders(plan.draft.customHeaders);
    normaliseEventFilter(plan.draft.events);
    const app = { clientId: plan.clientId.trim(), clientSecret: plan.clientSecret, scope: null };
    const started = await this.start(app, loginUrl, redirectUri);
    return {
      url: started.url,
      pending: {
        accountId,
        endpointId: null,
        plan: { ...plan, clientId: app.clientId },
        loginUrl: started.login,
        redirectUri,
        state: started.state,
        codeVerifier: started.codeVerifier,
      },
    };
  }

  /**
   * Checks the redirect against the pending flow, exchanges the code, and stores the refresh
   * token into the endpoint (with the token URL of the org that issued it), or creates the new
   * endpoint with it. Refusals come back as values with a message in plain words.
   */
  async complete(pending: PendingConnect, redirect: URL): Promise<ConnectOutcome> {
    const endpointId = pending.endpointId === null ? null : parseId('endpoint', pending.endpointId);
    if (endpointId === undefined)
      throw new ValidationError('invalid_request', 'Not an endpoint id');
    const endpoint =
      endpointId === null ? null : await this.connectableEndpoint(pending.accountId, endpointId);
    const plan = pending.plan;
    if (!endpoint && !plan) throw new ValidationError('invalid_request', 'Nothing to connect');
    const app = endpoint
      ? this.appOf(endpoint)
      : { clientId: plan!.clientId, clientSecret: plan!.clientSecret, scope: null };
    let result;
    try {
      result = await completeAuthorization(
        this.options(app, pending.loginUrl, pending.redirectUri),
        { url: '', state: pending.state, codeVerifier: pending.codeVerifier },
        redirect,
        this.fetchImpl,
      );
    } catch (error) {
      if (error instanceof WebFlowError) {
        return { ok: false, reason: error.code, message: error.message };
      }
      throw error;
    }
    if (!endpoint) {
      const created = await this.endpoints.create(pending.accountId, null, {
        ...plan!.draft,
        auth: {
          type: 'OAUTH2',
          oauth: salesforceSettings(pending.loginUrl, app.clientId),
          clientSecret: app.clientSecret ?? null,
          refreshToken: result.refreshToken,
        },
      });
      return {
        ok: true,
        endpoint: created.endpoint,
        instanceUrl: result.instanceUrl,
        signingSecret: created.signingSecret,
      };
    }
    const tokenUrl = `${pending.loginUrl}/services/oauth2/token`;
    const updated = await this.endpoints.replaceCredentials(pending.accountId, endpoint.id, {
      refreshToken: result.refreshToken,
      oauth: endpoint.oauth!.tokenUrl === tokenUrl ? undefined : { ...endpoint.oauth!, tokenUrl },
    });
    return { ok: true, endpoint: updated, instanceUrl: result.instanceUrl, signingSecret: null };
  }
}
