// Access tokens for OAuth listeners: cached in the store (sealed) so every worker shares them,
// refreshed once however many deliveries wait, rotated refresh tokens persisted before the new
// access token is used, and dead credentials remembered so they are never sent again.
//
// Single flight, in two rings:
//   - in this process, one promise per endpoint credential: every waiting delivery gets the same
//     result;
//   - across processes, the store's refresh lock: the holder re-reads the stored token after
//     taking it (if the generation moved, someone refreshed: use theirs), requests, persists with
//     a generation compare-and-set, and releases. Others wait and adopt the new generation.
//
// Two identities of a credential:
//   - its lineage (token URL, client id, grant, the refresh token it was given): the grant whose
//     rotated refresh tokens the stored record carries. A new client secret or scope keeps the
//     lineage, so the newest refresh token is kept; a new refresh token starts a new lineage.
//   - its submission (every field, and when it was submitted): what a terminal refusal condemns.
//     It stays dead until someone submits credentials again, even the same ones.

import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';
import type { Authorization, TokenSource } from '../delivery/credentials.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { spanUrl, type Tracer } from '../observability/tracing.js';
import type { SecretBox } from '../services/secret-box.js';
import type { TokenRecord, TokenStore } from '../store/port.js';
import { credentialLineage, credentialSubmission, refreshAheadAt } from './credential-keys.js';
import { requestToken, type GrantResult } from './grant.js';

export interface TokenManagerOptions {
  readonly store: TokenStore;
  readonly box: SecretBox;
  readonly fetch: typeof fetch;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: () => number;
  readonly random: () => number;
  /** Unique name of this process (lock owner). */
  readonly owner: string;
  /** Called when a rotated refresh token could not be stored: the grant may be lost. */
  readonly onPersistFailed: (endpoint: Endpoint, error: unknown) => void;
  /**
   * How long the refresh lock is held at most (a dead holder's lock expires). Well above the
   * token request's own timeout (30 s), so a slow token endpoint never lets a second refresh in.
   */
  readonly lockTtlMs?: number;
  /** Pause between looks at the store while another process refreshes. */
  readonly waitPollMs?: number;
  /** Pause between tries to store a rotated refresh token that could not be stored. */
  readonly persistRetryMs?: number;
  /** Traces: each token request an HTTP client span (a child of the delivery that needed it). */
  readonly tracer?: Tracer;
}

interface Cached {
  readonly lineage: string;
  readonly generation: number;
  readonly header: string;
  readonly refreshAt: number | null;
  readonly expiresAt: number | null;
}

/** A rotated refresh token not yet stored: the only live copy of the grant. */
interface Unsaved {
  readonly lineage: string;
  readonly refreshToken: string | undefined;
  readonly record: TokenRecord;
}

/** What a forced refresh reports (herald token test/refresh). */
export interface RefreshReport {
  readonly authorization: Authorization;
  readonly instanceUrl: string | null;
  /** Salesforce's identity URL when this refresh made a token request. */
  readonly identityUrl: string | null;
  readonly rotated: boolean;
  readonly scope: string | null;
}

const CONCURRENT_RETRIES = 4;
const MAX_BACKOFF_MS = 5 * 60_000;
const PERSIST_TRIES = 60;

/** What waiting deliveries share one refresh or recovery by: the endpoint's credential submission. */
const recoveryKey = (endpoint: Endpoint): string =>
  `${endpoint.id}|${credentialSubmission(endpoint)}`;

export class TokenManager implements TokenSource {
  private readonly cache = new Map<EndpointId, Cached>();
  /** Refreshes under way, per credential submission, with the generation each started from. */
  private readonly flights = new Map<
    string,
    { readonly seen: number; readonly report: Promise<RefreshReport> }
  >();
  /**
   * Per credential submission, the recovery from a listener's 401 under way: every delivery in
   * flight with the refused token comes back 401 at about the same time, and they all wait for
   * the first one's look at the store and refresh rather than each reading the store again.
   */
  private readonly recoveries = new Map<
    string,
    { readonly generation: number; readonly answer: Promise<Authorization> }
  >();
  /**
   * Per endpoint, the newest generation of its current credentials that a listener refused:
   * deliveries still waiting for a connection with that token are dropped before they are sent.
   */
  private readonly refusedTokens = new Map<
    EndpointId,
    { readonly submission: string; readonly generation: number }
  >();
  private readonly backoff = new Map<
    EndpointId,
    { submission: string; failures: number; until: number }
  >();
  private readonly dead = new Map<EndpointId, { submission: string; reason: string }>();
  private readonly unsaved = new Map<EndpointId, Unsaved>();
  /** Refreshes under the lock running in this process, per endpoint (they release it themselves). */
  private readonly lockUsers = new Map<EndpointId, number>();
  /**
   * Endpoints whose refresh lock this process may still hold in the store without using it: its
   * release failed, or taking it failed after the store may have granted it (the store went
   * away). Released once the store answers, after any unsaved token is stored, so that no other
   * process refreshes with a refresh token the authorization server has already rotated out.
   */
  private readonly unreleased = new Set<EndpointId>();
  private readonly releasing = new Map<EndpointId, Promise<void>>();
  private readonly lockTtlMs: number;
  private readonly waitPollMs: number;
  private readonly persistRetryMs: number;

  constructor(private readonly o: TokenManagerOptions) {
    this.lockTtlMs = o.lockTtlMs ?? 90_000;
    this.waitPollMs = o.waitPollMs ?? 100;
    this.persistRetryMs = o.persistRetryMs ?? 1000;
  }

  private fresh(t: { refreshAt: number | null; expiresAt: number | null }): boolean {
    const now = this.o.clock();
    return (
      (t.refreshAt === null || now < t.refreshAt) && (t.expiresAt === null || now < t.expiresAt)
    );
  }

  private ok(c: Cached): Authorization {
    return { ok: true, header: c.header, bearer: true, generation: c.generation };
  }

  private fromRecord(record: TokenRecord): Cached | undefined {
    if (!record.accessTokenCiphertext) return undefined;
    const cached: Cached = {
      lineage: record.credentialKey,
      generation: record.generation,
      header: `Bearer ${this.o.box.open(record.accessTokenCiphertext)}`,
      refreshAt: record.refreshAt,
      expiresAt: record.expiresAt,
    };
    this.cache.set(record.endpointId, cached);
    return cached;
  }

  private terminal(reason: string, submission: string): Authorization {
    return { ok: false, kind: 'terminal', message: reason, retryInMs: 0, credential: submission };
  }

  /** Known-dead or backing-off credentials are answered without a token request. */
  private shortCircuit(endpoint: Endpoint, submission: string): Authorization | undefined {
    const dead = this.dead.get(endpoint.id);
    if (dead && dead.submission === submission) return this.terminal(dead.reason, submission);
    const wait = this.backoff.get(endpoint.id);
    if (wait && wait.submission === submission && wait.until > this.o.clock()) {
      return {
        ok: false,
        kind: 'transient',
        message: 'The token endpoint failed recently; waiting before trying again',
        retryInMs: wait.until - this.o.clock(),
        credential: submission,
      };
    }
    return undefined;
  }

  /** A stored record that condemns this very submission. */
  private static deadIn(record: TokenRecord | undefined, submission: string): string | undefined {
    return record?.deadReason && record.deadKey === submission ? record.deadReason : undefined;
  }

  async accessToken(endpoint: Endpoint): Promise<Authorization> {
    const lineage = credentialLineage(endpoint);
    const cached = this.cache.get(endpoint.id);
    if (cached && cached.lineage === lineage && this.fresh(cached)) return this.ok(cached);
    // A listener refused the token the store still holds: what the recovery brings is newer.
    const recovery = this.recoveries.get(recoveryKey(endpoint));
    if (recovery) return recovery.answer;
    return this.storedOrRefreshed(endpoint, lineage, undefined);
  }

  /** The endpoints this manager keeps something for (a token, a refusal, a back-off, ...). */
  *endpointsHeld(): Iterable<EndpointId> {
    const ids = new Set<EndpointId>();
    for (const map of [this.cache, this.refusedTokens, this.backoff, this.dead, this.unsaved]) {
      for (const id of map.keys()) ids.add(id);
    }
    for (const key of [...this.flights.keys(), ...this.recoveries.keys()]) {
      ids.add(key.slice(0, key.indexOf('|')) as EndpointId);
    }
    yield* ids;
  }

  /**
   * The endpoint was deleted: drop its tokens and state. A refresh under way finishes on its own
   * (its result goes to no one who asks again).
   */
  forget(id: EndpointId): void {
    for (const map of [this.cache, this.refusedTokens, this.backoff, this.dead, this.unsaved]) {
      map.delete(id);
    }
    for (const map of [this.flights, this.recoveries]) {
      for (const key of map.keys()) if (key.startsWith(`${id}|`)) map.delete(key);
    }
  }

  refused(endpoint: Endpoint, generation: number): boolean {
    const refused = this.refusedTokens.get(endpoint.id);
    return (
      refused !== undefined &&
      refused.generation >= generation &&
      refused.submission === credentialSubmission(endpoint)
    );
  }

  async tokenRejected(endpoint: Endpoint, generation: number): Promise<Authorization> {
    if (!this.refused(endpoint, generation)) {
      this.refusedTokens.set(endpoint.id, {
        submission: credentialSubmission(endpoint),
        generation,
      });
    }
    const lineage = credentialLineage(endpoint);
    const cached = this.cache.get(endpoint.id);
    if (
      cached &&
      cached.lineage === lineage &&
      cached.generation > generation &&
      this.fresh(cached)
    ) {
      return this.ok(cached);
    }
    if (cached?.generation === generation) this.cache.delete(endpoint.id);
    const key = recoveryKey(endpoint);
    const running = this.recoveries.get(key);
    if (running && running.generation >= generation) return running.answer;
    const recovery = {
      generation,
      answer: this.storedOrRefreshed(endpoint, lineage, generation).finally(() => {
        if (this.recoveries.get(key) === recovery) this.recoveries.delete(key);
      }),
    };
    this.recoveries.set(key, recovery);
    return recovery.answer;
  }

  /**
   * Past the in-process cache: a dead credential stops here; a fresh token another process
   * stored is adopted (newer than `rejected`, when a listener refused that generation); else
   * one refresh, single flight.
   */
  private async storedOrRefreshed(
    endpoint: Endpoint,
    lineage: string,
    rejected: number | undefined,
  ): Promise<Authorization> {
    const submission = credentialSubmission(endpoint);
    const stop = this.shortCircuit(endpoint, submission);
    if (stop) return stop;
    const record = await this.o.store.getToken(endpoint.id);
    const dead = TokenManager.deadIn(record, submission);
    if (dead) return this.markDead(endpoint, submission, dead);
    const ours = record?.credentialKey === lineage ? record : undefined;
    if (ours && (rejected === undefined || ours.generation > rejected)) {
      const stored = this.fromRecord(ours);
      if (stored && this.fresh(stored)) return this.ok(stored);
    }
    return (await this.refresh(endpoint, rejected ?? ours?.generation ?? 0)).authorization;
  }

  /** Refreshes now, whatever the cache holds (herald token test/refresh); still single flight. */
  async forceRefresh(endpoint: Endpoint): Promise<RefreshReport> {
    const submission = credentialSubmission(endpoint);
    this.backoff.delete(endpoint.id);
    const dead = this.dead.get(endpoint.id);
    if (dead && dead.submission === submission) {
      const authorization = this.terminal(dead.reason, submission);
      return { authorization, instanceUrl: null, identityUrl: null, rotated: false, scope: null };
    }
    const record = await this.o.store.getToken(endpoint.id);
    const seen = record?.credentialKey === credentialLineage(endpoint) ? record.generation : 0;
    return this.refresh(endpoint, seen);
  }

  /** The refresh token and access token in use now (rotated ones included), for revoke and introspect. */
  async currentTokens(
    endpoint: Endpoint,
  ): Promise<{ refreshToken: string | undefined; accessToken: string | undefined }> {
    const record = await this.o.store.getToken(endpoint.id);
    const same = record !== undefined && record.credentialKey === credentialLineage(endpoint);
    return {
      refreshToken: this.newestRefreshToken(endpoint, record),
      accessToken:
        same && record.accessTokenCiphertext
          ? this.o.box.open(record.accessTokenCiphertext)
          : undefined,
    };
  }

  /** The credential was revoked on purpose: never use it again. */
  async revoked(endpoint: Endpoint, reason: string): Promise<void> {
    const submission = credentialSubmission(endpoint);
    await this.persistDead(endpoint, submission, reason);
    this.markDead(endpoint, submission, reason);
  }

  /** The newest refresh token of the endpoint's grant: unsaved rotation, stored, or as given. */
  private newestRefreshToken(
    endpoint: Endpoint,
    record: TokenRecord | undefined,
  ): string | undefined {
    const lineage = credentialLineage(endpoint);
    const unsaved = this.unsaved.get(endpoint.id);
    if (unsaved && unsaved.lineage === lineage) return unsaved.refreshToken;
    if (record && record.credentialKey === lineage && record.refreshTokenCiphertext) {
      return this.o.box.open(record.refreshTokenCiphertext);
    }
    return endpoint.secrets.refreshToken;
  }

  private refresh(endpoint: Endpoint, seenGeneration: number): Promise<RefreshReport> {
    // Per credential submission: a delivery with new credentials never joins the old ones' flight.
    const key = recoveryKey(endpoint);
    const running = this.flights.get(key);
    if (running && running.seen >= seenGeneration) return running.report;
    // A flight that began before this generation existed may adopt it, the very token a
    // listener refused: refresh again once it ends (under the lock, adopting what it stored).
    const start = (): Promise<RefreshReport> => this.refreshUnderLock(endpoint, seenGeneration);
    const report = (running ? running.report.then(start, start) : start()).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    const flight = { seen: seenGeneration, report };
    this.flights.set(key, flight);
    return report;
  }

  private markDead(endpoint: Endpoint, submission: string, reason: string): Authorization {
    this.dead.set(endpoint.id, { submission, reason });
    this.cache.delete(endpoint.id);
    return this.terminal(reason, submission);
  }

  /** One token request, as an HTTP client span when tracing (never a token in it). */
  private async traced(
    endpoint: Endpoint,
    grant: string,
    request: () => Promise<GrantResult>,
  ): Promise<GrantResult> {
    const tracer = this.o.tracer;
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

  private transient(endpoint: Endpoint, submission: string, message: string): Authorization {
    const previous = this.backoff.get(endpoint.id);
    const failures = previous && previous.submission === submission ? previous.failures + 1 : 1;
    const wait =
      Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1)) * (0.8 + 0.4 * this.o.random());
    this.backoff.set(endpoint.id, { submission, failures, until: this.o.clock() + wait });
    return {
      ok: false,
      kind: 'transient',
      message,
      retryInMs: Math.round(wait),
      credential: submission,
    };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private async refreshUnderLock(
    endpoint: Endpoint,
    seenGeneration: number,
  ): Promise<RefreshReport> {
    const lineage = credentialLineage(endpoint);
    const submission = credentialSubmission(endpoint);
    const report = (
      authorization: Authorization,
      extra: Partial<RefreshReport> = {},
    ): RefreshReport => ({
      authorization,
      instanceUrl: extra.instanceUrl ?? null,
      identityUrl: extra.identityUrl ?? null,
      rotated: extra.rotated ?? false,
      scope: extra.scope ?? null,
    });
    const adopt = (record: TokenRecord | undefined): RefreshReport | undefined => {
      const dead = TokenManager.deadIn(record, submission);
      if (dead) return report(this.markDead(endpoint, submission, dead));
      if (record && record.credentialKey === lineage && record.generation > seenGeneration) {
        const adopted = this.fromRecord(record);
        if (adopted && this.fresh(adopted)) {
          return report(this.ok(adopted), { instanceUrl: record.instanceUrl });
        }
      }
      return undefined;
    };
    this.lockUsers.set(endpoint.id, (this.lockUsers.get(endpoint.id) ?? 0) + 1);
    try {
      return await this.refreshLocked(endpoint, report, adopt, submission, lineage);
    } finally {
      const users = (this.lockUsers.get(endpoint.id) ?? 1) - 1;
      if (users > 0) this.lockUsers.set(endpoint.id, users);
      else this.lockUsers.delete(endpoint.id);
      if (this.unreleased.has(endpoint.id)) void this.releaseLater(endpoint.id);
    }
  }

  private async refreshLocked(
    endpoint: Endpoint,
    report: (authorization: Authorization, extra?: Partial<RefreshReport>) => RefreshReport,
    adopt: (record: TokenRecord | undefined) => RefreshReport | undefined,
    submission: string,
    lineage: string,
  ): Promise<RefreshReport> {
    const deadline = this.o.clock() + 2 * this.lockTtlMs;
    let concurrentRejections = 0;
    let retriedAmbiguous = false;
    for (;;) {
      // A late release of this process's lock must land before this takes the lock again.
      await this.releasing.get(endpoint.id);
      const now = this.o.clock();
      let locked: boolean;
      try {
        locked = await this.o.store.acquireTokenLock(
          endpoint.id,
          this.o.owner,
          now,
          now + this.lockTtlMs,
        );
      } catch (error) {
        // The store may have granted the lock before the answer was lost: release it later.
        this.unreleased.add(endpoint.id);
        throw error;
      }
      if (locked) this.unreleased.delete(endpoint.id);
      if (!locked) {
        // Another process is refreshing this credential: wait for its result.
        if (now > deadline) {
          return report(
            this.transient(endpoint, submission, 'Another process holds the token refresh lock'),
          );
        }
        await this.sleep(this.waitPollMs);
        const theirs = adopt(await this.o.store.getToken(endpoint.id));
        if (theirs) return theirs;
        continue;
      }
      let retry = false;
      try {
        // Re-read under the lock: someone may have refreshed since this delivery read its token.
        const record = await this.o.store.getToken(endpoint.id);
        const adopted = adopt(record);
        if (adopted) return adopted;
        const refreshToken = this.newestRefreshToken(endpoint, record);
        const grant =
          endpoint.oauth!.grantType === 'REFRESH_TOKEN' ? 'refresh_token' : 'client_credentials';
        const result = await this.traced(endpoint, grant, () =>
          requestToken(
            { oauth: endpoint.oauth!, clientSecret: endpoint.secrets.clientSecret, refreshToken },
            this.o.fetch,
          ),
        );
        const generation = (record?.generation ?? 0) + 1;
        if (result.ok) {
          this.o.metrics.tokenRequests.inc({ grant, outcome: 'success' });
          this.o.metrics.countTokenRefresh(endpoint.id);
          return report(await this.persist(endpoint, lineage, generation, refreshToken, result), {
            instanceUrl: result.instanceUrl ?? null,
            identityUrl: result.identityUrl ?? null,
            rotated: result.refreshToken !== undefined && result.refreshToken !== refreshToken,
            scope: result.scope ?? null,
          });
        }
        this.o.metrics.tokenRequests.inc({ grant, outcome: result.kind });
        this.o.logger.warn(
          {
            endpointId: endpoint.id,
            status: result.status,
            error: result.error,
            kind: result.kind,
          },
          'token request failed',
        );
        switch (result.kind) {
          case 'terminal':
            await this.persistDead(endpoint, submission, result.message);
            return report(this.markDead(endpoint, submission, result.message));
          case 'concurrent':
            if (++concurrentRejections <= CONCURRENT_RETRIES) {
              retry = true;
              break;
            }
            return report(this.transient(endpoint, submission, result.message));
          case 'transient':
            // The answer may have been lost after the server consumed the refresh token:
            // retry once at once (an invalid_grant then is terminal, as it should be).
            if (result.ambiguous && !retriedAmbiguous) {
              retriedAmbiguous = true;
              continue;
            }
            return report(this.transient(endpoint, submission, result.message));
        }
      } finally {
        await this.o.store.releaseTokenLock(endpoint.id, this.o.owner).catch((error: unknown) => {
          this.unreleased.add(endpoint.id);
          this.o.logger.error(
            { err: error, endpointId: endpoint.id },
            'could not release the token lock; releasing it once the store answers',
          );
        });
      }
      if (retry) {
        // Someone else is refreshing the same token (perhaps outside Herald): back off, re-read.
        await this.sleep(500 + 1500 * this.o.random());
      }
    }
  }

  /** Persist before use: the new access token and (rotated) refresh token, in one write. */
  private async persist(
    endpoint: Endpoint,
    lineage: string,
    generation: number,
    usedRefreshToken: string | undefined,
    result: GrantResult & { ok: true },
  ): Promise<Authorization> {
    const now = this.o.clock();
    const keepRefresh = result.refreshToken ?? usedRefreshToken;
    const refreshAt = result.expiresIn === undefined ? null : refreshAheadAt(now, result.expiresIn);
    const expiresAt = result.expiresIn === undefined ? null : now + result.expiresIn * 1000;
    const refreshGrant = endpoint.oauth!.grantType === 'REFRESH_TOKEN';
    const record: TokenRecord = {
      endpointId: endpoint.id,
      credentialKey: lineage,
      generation,
      accessTokenCiphertext: this.o.box.seal(result.accessToken),
      refreshTokenCiphertext: refreshGrant && keepRefresh ? this.o.box.seal(keepRefresh) : null,
      expiresAt,
      refreshAt,
      instanceUrl: result.instanceUrl ?? null,
      deadReason: null,
      deadKey: null,
      updatedAt: now,
    };
    if (!(await this.save(record))) {
      // Under rotation the old refresh token is already dead: this process now holds the only
      // copy of the grant. Keep it for the next refresh, keep trying to store it, and say so.
      const entry: Unsaved = {
        lineage,
        refreshToken: refreshGrant ? keepRefresh : undefined,
        record,
      };
      this.unsaved.set(endpoint.id, entry);
      this.o.logger.fatal(
        { endpointId: endpoint.id },
        'could not store a refreshed OAuth token; retrying',
      );
      this.o.onPersistFailed(endpoint, new Error('the refreshed token could not be stored'));
      void this.retryPersist(endpoint.id, entry);
    } else if (this.unsaved.get(endpoint.id)?.lineage === lineage) {
      this.unsaved.delete(endpoint.id);
    }
    this.backoff.delete(endpoint.id);
    const cached: Cached = {
      lineage,
      generation,
      header: `Bearer ${result.accessToken}`,
      refreshAt,
      expiresAt,
    };
    this.cache.set(endpoint.id, cached);
    return this.ok(cached);
  }

  private async save(record: TokenRecord): Promise<boolean> {
    return (await this.trySave(record)) === 'saved';
  }

  /** `failed`: the store could not be asked (down, connection lost); `conflict`: CAS lost. */
  private async trySave(record: TokenRecord): Promise<'saved' | 'conflict' | 'failed'> {
    try {
      return (await this.o.store.saveToken(record)) ? 'saved' : 'conflict';
    } catch (error) {
      this.o.logger.error({ err: error, endpointId: record.endpointId }, 'saving a token failed');
      return 'failed';
    }
  }

  /**
   * Stores a rotated token the store did not take. Tries while the store is unreachable do not
   * count: an outage of any length ends with the token stored, and only then is the refresh
   * lock given back (see `unreleased`).
   */
  private async retryPersist(endpointId: EndpointId, entry: Unsaved): Promise<void> {
    for (let conflicts = 0; conflicts < PERSIST_TRIES;) {
      await this.sleep(this.persistRetryMs);
      if (this.unsaved.get(endpointId) !== entry) return; // a newer refresh took over
      const saved = await this.trySave(entry.record);
      if (saved === 'saved') {
        this.unsaved.delete(endpointId);
        this.o.logger.warn({ endpointId }, 'stored the refreshed OAuth token after all');
        if (this.unreleased.has(endpointId)) void this.releaseLater(endpointId);
        return;
      }
      if (saved === 'conflict') conflicts++;
    }
  }

  /**
   * Gives back a refresh lock this process may still hold without using it, once the store
   * answers and any unsaved token is stored. A refresh of this process that runs meanwhile takes
   * the lock over (the same owner may take it again) and releases it itself.
   */
  private async releaseLater(endpointId: EndpointId): Promise<void> {
    while (this.unreleased.has(endpointId)) {
      if (this.lockUsers.has(endpointId) || this.unsaved.has(endpointId)) return;
      const release = this.o.store.releaseTokenLock(endpointId, this.o.owner);
      const settled = release.then(
        () => true,
        () => false,
      );
      this.releasing.set(
        endpointId,
        settled.then(() => undefined),
      );
      const released = await settled;
      this.releasing.delete(endpointId);
      if (released) {
        this.unreleased.delete(endpointId);
        return;
      }
      await this.sleep(this.persistRetryMs);
    }
  }

  /** Records that this submission is dead, so that every process stops using it. */
  private async persistDead(endpoint: Endpoint, submission: string, reason: string): Promise<void> {
    for (let tries = 0; tries < 3; tries++) {
      const previous = await this.o.store.getToken(endpoint.id).catch(() => undefined);
      const saved = await this.save({
        endpointId: endpoint.id,
        credentialKey: previous?.credentialKey ?? credentialLineage(endpoint),
        generation: (previous?.generation ?? 0) + 1,
        accessTokenCiphertext: null,
        refreshTokenCiphertext: previous?.refreshTokenCiphertext ?? null,
        expiresAt: null,
        refreshAt: null,
        instanceUrl: previous?.instanceUrl ?? null,
        deadReason: reason,
        deadKey: submission,
        updatedAt: this.o.clock(),
      });
      if (saved) return;
    }
    this.o.logger.error({ endpointId: endpoint.id }, 'could not record dead OAuth credentials');
  }
}
