// Endpoint use cases: create, change, delete, reconnect, enable/disable, recover, rotate the
// signing secret. Both the OneSpan-compatible API and /v1 come through here.

import { randomBytes } from 'node:crypto';
import { ValidationError, type FieldProblem } from '../errors.js';
import {
  customHeaderProblem,
  MAX_CUSTOM_HEADERS,
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
import {
  initialStatus,
  keepLeftOut,
  newCredentials,
  oauthOf,
  replaceRefusal,
  secretsFor,
  statusAfter,
  type AuthDraft,
} from './auth/index.js';
import {
  CREDENTIALS_FIELDS,
  NATIVE_FIELDS,
  SecretMoves,
  type Destinations,
  type SecretFields,
} from './secret-binding.js';
import type { WorkSignal } from '../queue/work-signal.js';

export { KEEP, type AuthDraft, type SecretInput } from './auth/index.js';

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

/** Where a draft sends: its callback URL and, for OAuth, its token endpoint. */
function afterChange(draft: Pick<EndpointDraft, 'url' | 'auth'>): Destinations {
  return { url: draft.url, tokenUrl: oauthOf(draft.auth)?.tokenUrl ?? null };
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
    const oauth = draft.auth ? oauthOf(draft.auth) : null;
    if (oauth) await this.checkDestination(oauth.tokenUrl);
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
      ...secretsFor(draft.auth, {}, undefined, moves, this.clock),
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
      authStatus: initialStatus({ type: draft.auth.type, oauth: oauthOf(draft.auth) }),
      oauth: oauthOf(draft.auth),
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
        const credentialsChanged = newCredentials(draft.auth, current);
        const signingSecrets = draft.signing
          ? (current.secrets.signingSecrets ?? [{ secret: newSigningSecret(), expiresAt: null }])
          : undefined;
        const moves = new SecretMoves(current, afterChange(draft), draft.fields ?? NATIVE_FIELDS);
        const customHeaders = moves.headers(draft.customHeaders, current.customHeaders);
        const secrets = secretsFor(draft.auth, current.secrets, current, moves, this.clock);
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
          authStatus: statusAfter(draft.auth, current, credentialsChanged),
          oauth: oauthOf(draft.auth),
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

  async update(accountId: AccountId, id: EndpointId, patch: EndpointPatch): Promise<Endpoint> {
    await this.repo.get(accountId, id);
    await this.validate(patch);
    const result = await this.repo.mutate(
      id,
      (current) => {
        const auth = patch.auth;
        const credentialsChanged = auth ? newCredentials(auth, current) : false;
        const url = patch.url ?? current.url;
        const tokenUrl = auth
          ? afterChange({ url, auth }).tokenUrl
          : (current.oauth?.tokenUrl ?? null);
        const moves = new SecretMoves(current, { url, tokenUrl }, patch.fields ?? NATIVE_FIELDS);
        // Left out, the stored auth stays: a Basic key stays with the callback URL.
        if (!auth) keepLeftOut(current, moves);
        const customHeaders = moves.headers(patch.customHeaders, current.customHeaders);
        const secrets = auth
          ? secretsFor(auth, current.secrets, current, moves, this.clock)
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
          authStatus: auth ? statusAfter(auth, current, credentialsChanged) : current.authStatus,
          oauth: auth ? oauthOf(auth) : current.oauth,
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
    const refusal = replaceRefusal(endpoint, input);
    if (refusal) throw new ValidationError('invalid_credentials', refusal);
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
          authStatus: initialStatus({ type: current.authType, oauth }),
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
