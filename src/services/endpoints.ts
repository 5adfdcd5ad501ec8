// Endpoint use cases: create, change, delete, reconnect, enable/disable, recover, rotate the
// signing secret. Both the OneSpan-compatible API and /v1 come through here.

import { randomBytes } from 'node:crypto';
import { ValidationError, type FieldProblem } from '../errors.js';
import {
  customHeaderProblem,
  MAX_CUSTOM_HEADERS,
  type AuthStatus,
  type Endpoint,
  type EndpointOptions,
  type EndpointSecrets,
  type KeyValue,
  type OAuthSettings,
  type Origin,
  type SigningSecret,
} from '../domain/endpoint.js';
import { ALL_EVENTS } from '../domain/endpoint.js';
import { normaliseEventName } from '../domain/events.js';
import { isOperationalType } from '../domain/operational.js';
import { newId, type AccountId, type EndpointId } from '../domain/ids.js';
import { afterEndpointChange } from '../domain/transitions.js';
import type { OperationalEventRecord, QueueStore } from '../store/port.js';
import type { EndpointRepository } from './endpoint-repo.js';
import type { OperationalEvents } from './operational-events.js';
import { NATIVE_FIELDS, SecretMoves, type SecretFields } from './secret-binding.js';
import type { WorkSignal } from './work-signal.js';

/** A masked secret sent back unchanged: keep what is stored (while it goes where it went). */
export const KEEP = Symbol('keep the stored secret');
export type SecretInput = string | typeof KEEP;

export type AuthDraft =
  | { readonly type: 'NONE' }
  | { readonly type: 'BASIC'; readonly key: SecretInput }
  | {
      readonly type: 'OAUTH2';
      readonly oauth: OAuthSettings;
      readonly clientSecret: SecretInput | null;
      readonly refreshToken: SecretInput | null;
    };

export interface EndpointDraft {
  readonly url: string;
  readonly events: readonly string[];
  readonly description: string | null;
  readonly auth: AuthDraft;
  readonly customHeaders: readonly KeyValue[];
  readonly options: EndpointOptions;
  /** Whether deliveries carry a Standard Webhooks signature. */
  readonly signing: boolean;
  /** How the request names its secrets, for refusals (default: the /v1 names). */
  readonly fields?: SecretFields;
}

export type EndpointPatch = Partial<Omit<EndpointDraft, 'auth'>> & {
  readonly auth?: AuthDraft;
};

/** How PUT /v1/endpoints/{id}/credentials names the secrets. */
const CREDENTIALS_FIELDS: SecretFields = {
  key: 'key',
  clientSecret: 'clientSecret',
  refreshToken: 'refreshToken',
  customHeaders: 'customHeaders',
};

export interface CredentialsInput {
  readonly key?: string;
  readonly clientSecret?: string;
  readonly refreshToken?: string;
  /** A whole new OAuth setting (e.g. a new salesforceOauth2 key). */
  readonly oauth?: OAuthSettings;
}

/** Checks that a URL may be called (SSRF guard); throws a ValidationError when not. */
export type DestinationCheck = (url: string) => Promise<void>;

const SIGNING_ROTATION_GRACE_MS = 24 * 3600_000;

export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * Validates and normalises an endpoint's `events`: OneSpan event names, `*`, and (on `/v1`) the
 * operational event types. The OneSpan-compatible API (`oneSpanOnly`) takes OneSpan's names only:
 * its SDKs read `events` as their own enum.
 */
export function normaliseEventFilter(
  events: readonly string[],
  path = 'events',
  oneSpanOnly = false,
): string[] {
  const problems: FieldProblem[] = [];
  const out: string[] = [];
  events.forEach((name, i) => {
    if (isOperationalType(name)) {
      if (oneSpanOnly) {
        problems.push({
          path: `${path}/${i}`,
          message: `${name} is an operational event type: subscribe to it with /v1/endpoints (this API takes OneSpan event names only)`,
        });
      } else if (!out.includes(name)) out.push(name);
      return;
    }
    const normalised = name === ALL_EVENTS ? ALL_EVENTS : normaliseEventName(name);
    if (normalised === undefined) {
      problems.push({
        path: `${path}/${i}`,
        message: `${JSON.stringify(name)} is not an event name`,
      });
    } else if (!out.includes(normalised)) out.push(normalised);
  });
  if (problems.length > 0) {
    throw new ValidationError('validation_failed', problems[0]!.message, { problems });
  }
  return out;
}

export function checkCustomHeaders(headers: readonly KeyValue[], path = 'customHeaders'): void {
  if (headers.length > MAX_CUSTOM_HEADERS) {
    throw new ValidationError(
      'invalid_header',
      `At most ${MAX_CUSTOM_HEADERS} custom headers are allowed`,
      {
        problems: [
          { path, message: `has ${headers.length} entries; at most ${MAX_CUSTOM_HEADERS}` },
        ],
      },
    );
  }
  const seen = new Set<string>();
  headers.forEach((h, i) => {
    const problem =
      customHeaderProblem(h) ??
      (seen.has(h.key.toLowerCase()) ? `key ${h.key} appears twice` : undefined);
    seen.add(h.key.toLowerCase());
    if (problem) {
      throw new ValidationError('invalid_header', `Custom header ${i + 1}: ${problem}`, {
        problems: [{ path: `${path}/${i}`, message: problem }],
      });
    }
  });
}

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

/** Where a draft sends: its callback URL and, for OAuth, its token endpoint. */
function afterChange(draft: Pick<EndpointDraft, 'url' | 'auth'>): {
  url: string;
  tokenUrl: string | null;
} {
  return {
    url: draft.url,
    tokenUrl: draft.auth.type === 'OAUTH2' ? draft.auth.oauth.tokenUrl : null,
  };
}

export class EndpointService {
  constructor(
    private readonly repo: EndpointRepository,
    private readonly clock: () => number,
    private readonly checkDestination: DestinationCheck,
    private readonly ops: OperationalEvents,
    private readonly signal: WorkSignal,
    /** Holds, releases and recovers the endpoint's deliveries. */
    private readonly deliveries: QueueStore,
  ) {}

  list(accountId: AccountId): Promise<Endpoint[]> {
    return this.repo.list(accountId);
  }

  get(accountId: AccountId, id: EndpointId): Promise<Endpoint> {
    return this.repo.get(accountId, id);
  }

  findByOrigin(accountId: AccountId, origin: Origin): Promise<Endpoint | undefined> {
    return this.repo.findByOrigin(accountId, origin);
  }

  private async validate(draft: EndpointPatch): Promise<void> {
    if (draft.url !== undefined) await this.checkDestination(draft.url);
    if (draft.customHeaders) checkCustomHeaders(draft.customHeaders);
    if (draft.auth?.type === 'OAUTH2') await this.checkDestination(draft.auth.oauth.tokenUrl);
  }

  /**
   * The secrets an auth draft leaves stored. OAuth credentials sent in full (or changed settings)
   * count as a new submission, which lifts a dead credential's ban; masked ones do not. A masked
   * secret is kept only while its destination stays (`moves` collects the refusals).
   */
  private secretsFor(
    auth: AuthDraft,
    stored: EndpointSecrets,
    before: Endpoint | undefined,
    moves: SecretMoves,
  ): EndpointSecrets {
    const signingSecrets = stored.signingSecrets;
    const { fields } = moves;
    switch (auth.type) {
      case 'NONE':
        return { signingSecrets };
      case 'BASIC':
        if (auth.key === KEEP) moves.keep(fields.key, 'callback URL', 'is masked');
        return { signingSecrets, basicKey: resolveSecret(auth.key, stored.basicKey, 'key') };
      case 'OAUTH2':
        if (auth.clientSecret === KEEP) {
          moves.keep(fields.clientSecret, 'token endpoint', 'is masked');
        }
        if (auth.refreshToken === KEEP) {
          moves.keep(fields.refreshToken, 'token endpoint', 'is masked');
        }
        return {
          signingSecrets,
          clientSecret:
            auth.clientSecret === null
              ? undefined
              : resolveSecret(auth.clientSecret, stored.clientSecret, 'clientSecret'),
          refreshToken:
            auth.refreshToken === null
              ? undefined
              : resolveSecret(auth.refreshToken, stored.refreshToken, 'refreshToken'),
          credentialsSetAt:
            typeof auth.clientSecret === 'string' ||
            typeof auth.refreshToken === 'string' ||
            JSON.stringify(auth.oauth) !== JSON.stringify(before?.oauth)
              ? this.clock()
              : stored.credentialsSetAt,
        };
    }
  }

  /** Whether the draft brings credentials different from what is stored. */
  private static newCredentials(auth: AuthDraft, before: Endpoint): boolean {
    if (auth.type !== before.authType) return true;
    switch (auth.type) {
      case 'NONE':
        return false;
      case 'BASIC':
        return auth.key !== KEEP && auth.key !== before.secrets.basicKey;
      case 'OAUTH2':
        return (
          (auth.refreshToken !== null &&
            auth.refreshToken !== KEEP &&
            auth.refreshToken !== before.secrets.refreshToken) ||
          (auth.clientSecret !== null &&
            auth.clientSecret !== KEEP &&
            auth.clientSecret !== before.secrets.clientSecret) ||
          JSON.stringify(auth.oauth) !== JSON.stringify(before.oauth)
        );
    }
  }

  async create(
    accountId: AccountId,
    origin: Origin | null,
    draft: EndpointDraft,
  ): Promise<{ endpoint: Endpoint; signingSecret: string | null }> {
    await this.validate(draft);
    const now = this.clock();
    const signingSecret = draft.signing ? newSigningSecret() : null;
    const moves = new SecretMoves(undefined, afterChange(draft), draft.fields ?? NATIVE_FIELDS);
    const customHeaders = moves.headers(draft.customHeaders, []);
    const secrets: EndpointSecrets = {
      ...this.secretsFor(draft.auth, {}, undefined, moves),
      signingSecrets: signingSecret ? [{ secret: signingSecret, expiresAt: null }] : undefined,
    };
    const endpoint: Endpoint = {
      id: newId('endpoint', now),
      accountId,
      origin,
      url: draft.url,
      events: normaliseEventFilter(draft.events, 'events', origin !== null),
      description: draft.description,
      authType: draft.auth.type,
      authStatus: draft.auth.type === 'OAUTH2' ? 'unverified' : 'ok',
      oauth: draft.auth.type === 'OAUTH2' ? draft.auth.oauth : null,
      secrets,
      customHeaders,
      options: draft.options,
      state: 'enabled',
      disabledReason: null,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    await this.repo.insert(endpoint);
    return { endpoint, signingSecret };
  }

  /** OneSpan's "register or replace" of one configuration slot. Re-enables the endpoint. */
  async upsertByOrigin(
    accountId: AccountId,
    origin: Origin,
    draft: EndpointDraft,
  ): Promise<Endpoint> {
    const existing = await this.findByOrigin(accountId, origin);
    if (!existing) return (await this.create(accountId, origin, draft)).endpoint;
    await this.validate(draft);
    const result = await this.repo.mutate(
      existing.id,
      (current) => {
        const credentialsChanged = EndpointService.newCredentials(draft.auth, current);
        const signingSecrets = draft.signing
          ? (current.secrets.signingSecrets ?? [{ secret: newSigningSecret(), expiresAt: null }])
          : undefined;
        const moves = new SecretMoves(current, afterChange(draft), draft.fields ?? NATIVE_FIELDS);
        const customHeaders = moves.headers(draft.customHeaders, current.customHeaders);
        const secrets = this.secretsFor(draft.auth, current.secrets, current, moves);
        moves.check();
        return {
          ...current,
          url: draft.url,
          // Operational subscriptions made on /v1 are invisible here: a replace keeps them.
          events: [
            ...normaliseEventFilter(draft.events, 'events', true),
            ...current.events.filter(isOperationalType),
          ],
          description: draft.description,
          authType: draft.auth.type,
          authStatus: this.statusAfter(draft.auth, current, credentialsChanged),
          oauth: draft.auth.type === 'OAUTH2' ? draft.auth.oauth : null,
          secrets: { ...secrets, signingSecrets },
          customHeaders,
          options: draft.options,
          state: 'enabled',
          disabledReason: null,
          failingSince: null,
        };
      },
      this.reEnabled,
    );
    return this.afterChange(result!);
  }

  private statusAfter(auth: AuthDraft, current: Endpoint, credentialsChanged: boolean): AuthStatus {
    if (auth.type !== 'OAUTH2') return 'ok';
    if (credentialsChanged) return 'unverified';
    return current.authStatus;
  }

  async update(accountId: AccountId, id: EndpointId, patch: EndpointPatch): Promise<Endpoint> {
    await this.repo.get(accountId, id);
    await this.validate(patch);
    const result = await this.repo.mutate(
      id,
      (current) => {
        const auth = patch.auth;
        const credentialsChanged = auth ? EndpointService.newCredentials(auth, current) : false;
        const url = patch.url ?? current.url;
        const tokenUrl = auth
          ? afterChange({ url, auth }).tokenUrl
          : (current.oauth?.tokenUrl ?? null);
        const moves = new SecretMoves(current, { url, tokenUrl }, patch.fields ?? NATIVE_FIELDS);
        // Left out, the stored auth stays: a Basic key stays with the callback URL.
        if (!auth && current.authType === 'BASIC') {
          moves.keep(moves.fields.key, 'callback URL', 'is left out');
        }
        const customHeaders = moves.headers(patch.customHeaders, current.customHeaders);
        const secrets = auth
          ? this.secretsFor(auth, current.secrets, current, moves)
          : current.secrets;
        moves.check();
        let signingSecrets = current.secrets.signingSecrets;
        if (patch.signing === false) signingSecrets = undefined;
        if (patch.signing === true && !signingSecrets) {
          signingSecrets = [{ secret: newSigningSecret(), expiresAt: null }];
        }
        return {
          ...current,
          url,
          events: patch.events ? normaliseEventFilter(patch.events) : current.events,
          description: patch.description === undefined ? current.description : patch.description,
          authType: auth ? auth.type : current.authType,
          authStatus: auth
            ? this.statusAfter(auth, current, credentialsChanged)
            : current.authStatus,
          oauth: auth ? (auth.type === 'OAUTH2' ? auth.oauth : null) : current.oauth,
          secrets: { ...secrets, signingSecrets },
          customHeaders,
          options: patch.options ?? current.options,
        };
      },
      this.reEnabled,
    );
    return this.afterChange(result!);
  }

  async delete(accountId: AccountId, id: EndpointId): Promise<void> {
    await this.repo.get(accountId, id);
    await this.repo.delete(accountId, id);
    this.repo.deleted(accountId, id);
  }

  /** Reconnect: new key, secret or refresh token. Clears reauthorization_required; held work resumes. */
  async replaceCredentials(
    accountId: AccountId,
    id: EndpointId,
    input: CredentialsInput,
  ): Promise<Endpoint> {
    const endpoint = await this.repo.get(accountId, id);
    if (endpoint.authType === 'NONE') {
      throw new ValidationError(
        'invalid_credentials',
        'This endpoint uses no authentication; change its auth instead',
      );
    }
    if (endpoint.authType === 'BASIC' && !input.key) {
      throw new ValidationError('invalid_credentials', 'Send the new callback key as `key`');
    }
    if (
      endpoint.authType === 'OAUTH2' &&
      !input.refreshToken &&
      !input.clientSecret &&
      !input.oauth
    ) {
      throw new ValidationError(
        'invalid_credentials',
        'Send a new `refreshToken`, `clientSecret` or `salesforceKey`',
      );
    }
    if (input.oauth) await this.checkDestination(input.oauth.tokenUrl);
    const result = await this.repo.mutate(
      id,
      (current) => {
        const oauth = input.oauth ?? current.oauth;
        const moves = new SecretMoves(
          current,
          { url: current.url, tokenUrl: oauth?.tokenUrl ?? null },
          CREDENTIALS_FIELDS,
        );
        const { clientSecret, refreshToken } = current.secrets;
        if (input.clientSecret === undefined && clientSecret !== undefined) {
          moves.keep('clientSecret', 'token endpoint', 'is left out');
        }
        // A refresh token the new grant does not use is not kept for another token endpoint.
        const dropRefresh = oauth?.grantType !== 'REFRESH_TOKEN' && moves.moves('token endpoint');
        if (input.refreshToken === undefined && refreshToken !== undefined && !dropRefresh) {
          moves.keep('refreshToken', 'token endpoint', 'is left out');
        }
        moves.check();
        return {
          ...current,
          oauth,
          authStatus: current.authType === 'OAUTH2' ? 'unverified' : 'ok',
          secrets: {
            ...current.secrets,
            basicKey: input.key ?? current.secrets.basicKey,
            clientSecret: input.clientSecret ?? clientSecret,
            refreshToken: input.refreshToken ?? (dropRefresh ? undefined : refreshToken),
            credentialsSetAt: this.clock(),
          },
        };
      },
      (before, after) => [
        this.ops.event('endpoint.credentials_replaced', accountId, { endpointId: id }),
        ...this.reEnabled(before, after),
      ],
    );
    return this.afterChange(result!);
  }

  async setState(
    accountId: AccountId,
    id: EndpointId,
    state: 'enabled' | 'disabled',
  ): Promise<Endpoint> {
    await this.repo.get(accountId, id);
    const result = await this.repo.mutate(
      id,
      (current) =>
        current.state === state
          ? undefined
          : {
              ...current,
              state,
              disabledReason: state === 'disabled' ? 'disabled by a user' : null,
              failingSince: null,
            },
      this.reEnabled,
    );
    return this.afterChange(result!);
  }

  /** A disabled endpoint enabled again raises endpoint.enabled, with the change. */
  private readonly reEnabled = (before: Endpoint, after: Endpoint): OperationalEventRecord[] =>
    before.state === 'disabled' && after.state === 'enabled'
      ? [this.ops.event('endpoint.enabled', after.accountId, { endpointId: after.id })]
      : [];

  /** Holds or releases deliveries to match the endpoint's new state, and wakes the workers. */
  private async afterChange({
    after,
    raised,
  }: {
    after: Endpoint;
    raised: readonly OperationalEventRecord[];
  }): Promise<Endpoint> {
    this.ops.stored(raised);
    const now = this.clock();
    if (afterEndpointChange(after) === 'hold') {
      await this.deliveries.holdDeliveries(after.id, now);
    } else {
      const released = await this.deliveries.releaseHeldDeliveries(after.id, now);
      if (released > 0) this.signal.notify();
    }
    return after;
  }

  async recover(
    accountId: AccountId,
    id: EndpointId,
    since: number,
    until: number,
  ): Promise<number> {
    const endpoint = await this.repo.get(accountId, id);
    const count = await this.deliveries.recover(endpoint.id, since, until, this.clock());
    if (count > 0) this.signal.notify();
    return count;
  }

  /** A new signing secret; the previous ones stay valid for 24 hours. Returns the new secret. */
  async rotateSigningSecret(accountId: AccountId, id: EndpointId): Promise<string> {
    await this.repo.get(accountId, id);
    const secret = newSigningSecret();
    const now = this.clock();
    await this.repo.mutate(id, (current) => {
      const previous: SigningSecret[] = (current.secrets.signingSecrets ?? [])
        .filter((s) => s.expiresAt === null || s.expiresAt > now)
        .map((s) => ({
          secret: s.secret,
          expiresAt: s.expiresAt ?? now + SIGNING_ROTATION_GRACE_MS,
        }));
      return {
        ...current,
        secrets: {
          ...current.secrets,
          signingSecrets: [{ secret, expiresAt: null }, ...previous].slice(0, 10),
        },
      };
    });
    return secret;
  }
}
