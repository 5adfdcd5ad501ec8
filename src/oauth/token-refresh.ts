// One refresh of an OAuth endpoint's access token, across processes: under the store's refresh
// lock, the holder re-reads the stored token (if the generation moved, someone refreshed: use
// theirs), makes the token request (oauth4webapi, grant.ts), persists the new access token and
// the (rotated or kept) refresh token with a generation compare-and-set, and only then hands the
// new access token out; then it releases the lock. Others wait and adopt the new generation.
//
// What a refusal means is remembered here: a dead credential (stored with the submission it
// condemns, so every process stops using it) and a back-off after transient failures. A rotated
// refresh token the store did not take is the only live copy of the grant: it is kept in memory,
// used before the stale stored one, and saved again until the store takes it; only then is a
// refresh lock this process may still hold given back.

import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';
import type { Authorization } from '../delivery/credentials.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracer } from '../observability/tracing.js';
import type { Sealer } from './sealer.js';
import type { TokenRecord, TokenStore } from '../store/port.js';
import {
  credentialLineage,
  credentialSubmission,
  deadIn,
  refreshAheadAt,
} from './credential-keys.js';
import { requestToken, tracedTokenRequest, type GrantResult } from './grant.js';
import { TokenCache, type CachedToken } from './token-cache.js';

export interface TokenRefreshOptions {
  readonly store: TokenStore;
  readonly box: Sealer;
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

/** What a refresh reports (herald token test/refresh shows it; deliveries take the token). */
export interface RefreshReport {
  readonly authorization: Authorization;
  readonly instanceUrl: string | null;
  /** Salesforce's identity URL when this refresh made a token request. */
  readonly identityUrl: string | null;
  readonly rotated: boolean;
  readonly scope: string | null;
}

/** A rotated refresh token not yet stored: the only live copy of the grant. */
interface Unsaved {
  readonly lineage: string;
  readonly refreshToken: string | undefined;
  readonly record: TokenRecord;
}

const CONCURRENT_RETRIES = 4;
const MAX_BACKOFF_MS = 5 * 60_000;
const PERSIST_TRIES = 60;

export class TokenRefresher {
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

  constructor(
    private readonly o: TokenRefreshOptions,
    private readonly cache: TokenCache,
  ) {
    this.lockTtlMs = o.lockTtlMs ?? 90_000;
    this.waitPollMs = o.waitPollMs ?? 100;
    this.persistRetryMs = o.persistRetryMs ?? 1000;
  }

  terminal(reason: string, submission: string): Authorization {
    return { ok: false, kind: 'terminal', message: reason, retryInMs: 0, credential: submission };
  }

  /** The reason this very submission is known dead in this process. */
  deadReason(endpoint: Endpoint, submission: string): string | undefined {
    const dead = this.dead.get(endpoint.id);
    return dead && dead.submission === submission ? dead.reason : undefined;
  }

  /** Known-dead or backing-off credentials are answered without a token request. */
  shortCircuit(endpoint: Endpoint, submission: string): Authorization | undefined {
    const dead = this.deadReason(endpoint, submission);
    if (dead !== undefined) return this.terminal(dead, submission);
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

  /** A forced refresh does not wait for the back-off. */
  skipBackoff(id: EndpointId): void {
    this.backoff.delete(id);
  }

  markDead(endpoint: Endpoint, submission: string, reason: string): Authorization {
    this.dead.set(endpoint.id, { submission, reason });
    this.cache.delete(endpoint.id);
    return this.terminal(reason, submission);
  }

  /** The newest refresh token of the endpoint's grant: unsaved rotation, stored, or as given. */
  newestRefreshToken(endpoint: Endpoint, record: TokenRecord | undefined): string | undefined {
    const lineage = credentialLineage(endpoint);
    const unsaved = this.unsaved.get(endpoint.id);
    if (unsaved && unsaved.lineage === lineage) return unsaved.refreshToken;
    if (record && record.credentialKey === lineage && record.refreshTokenCiphertext) {
      return this.o.box.open(record.refreshTokenCiphertext);
    }
    return endpoint.secrets.refreshToken;
  }

  /** The endpoints this refresher keeps something for (a back-off, a dead reason, a token). */
  *endpointsHeld(): Iterable<EndpointId> {
    yield* this.backoff.keys();
    yield* this.dead.keys();
    yield* this.unsaved.keys();
  }

  forget(id: EndpointId): void {
    this.backoff.delete(id);
    this.dead.delete(id);
    this.unsaved.delete(id);
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

  /** One refresh from `seenGeneration`, under the store's lock (callers make it single flight). */
  async refreshUnderLock(endpoint: Endpoint, seenGeneration: number): Promise<RefreshReport> {
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
      const dead = deadIn(record, submission);
      if (dead) return report(this.markDead(endpoint, submission, dead));
      if (record && record.credentialKey === lineage && record.generation > seenGeneration) {
        const adopted = this.cache.fromRecord(record);
        if (adopted && this.cache.fresh(adopted)) {
          return report(TokenCache.ok(adopted), { instanceUrl: record.instanceUrl });
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
        const result = await tracedTokenRequest(this.o.tracer, endpoint, grant, () =>
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
    const cached: CachedToken = {
      lineage,
      generation,
      header: `Bearer ${result.accessToken}`,
      refreshAt,
      expiresAt,
    };
    this.cache.set(endpoint.id, cached);
    return TokenCache.ok(cached);
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
  async persistDead(endpoint: Endpoint, submission: string, reason: string): Promise<void> {
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
