// Access tokens for OAuth listeners: cached in the store (sealed) so every worker shares them,
// refreshed once however many deliveries wait, rotated refresh tokens persisted before the new
// access token is used, and dead credentials remembered so they are never sent again.
//
// Single flight, in two rings:
//   - in this process, one promise per endpoint: every waiting delivery gets the same result;
//   - across processes, the store's refresh lock: the holder re-reads the stored token after
//     taking it (if the generation moved, someone refreshed: use theirs), requests, persists with
//     a generation compare-and-set, and releases. Others wait and adopt the new generation.

import { createHash } from 'node:crypto';
import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';
import type { Authorization, TokenSource } from '../delivery/credentials.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { SecretBox } from '../services/secret-box.js';
import type { Store, TokenRecord } from '../store/port.js';
import { requestToken, type GrantResult } from './grant.js';

export interface TokenManagerOptions {
  readonly store: Store;
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
  /** How long the refresh lock is held at most (a dead holder's lock expires). */
  readonly lockTtlMs?: number;
  /** Pause between looks at the store while another process refreshes. */
  readonly waitPollMs?: number;
}

interface Cached {
  readonly credentialKey: string;
  readonly generation: number;
  readonly accessToken: string;
  readonly refreshAt: number | null;
  readonly expiresAt: number | null;
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

const credentialKeys = new WeakMap<Endpoint, string>();

function hashCredential(endpoint: Endpoint): string {
  const o = endpoint.oauth;
  return createHash('sha256')
    .update(
      JSON.stringify([
        o?.tokenUrl,
        o?.clientId,
        o?.grantType,
        o?.scope,
        o?.authMechanism,
        o?.customParameters,
        endpoint.secrets.clientSecret ?? null,
        endpoint.secrets.refreshToken ?? null,
      ]),
    )
    .digest('hex')
    .slice(0, 32);
}

/** Refresh ahead of expiry by the smaller of 10 % of the lifetime and 60 s. */
export function refreshAheadAt(issuedAt: number, expiresInSeconds: number): number {
  const lifetime = expiresInSeconds * 1000;
  return issuedAt + lifetime - Math.min(lifetime * 0.1, 60_000);
}

export class TokenManager implements TokenSource {
  private readonly cache = new Map<EndpointId, Cached>();
  private readonly flights = new Map<EndpointId, Promise<RefreshReport>>();
  private readonly backoff = new Map<
    EndpointId,
    { credentialKey: string; failures: number; until: number }
  >();
  private readonly dead = new Map<EndpointId, { credentialKey: string; reason: string }>();
  private readonly lockTtlMs: number;
  private readonly waitPollMs: number;

  constructor(private readonly o: TokenManagerOptions) {
    this.lockTtlMs = o.lockTtlMs ?? 30_000;
    this.waitPollMs = o.waitPollMs ?? 100;
  }

  /** Identifies the credential a stored token derives from; new credentials, new key. */
  static credentialKey(endpoint: Endpoint): string {
    // Endpoints are immutable values, cached by the worker: hash each one once, not per delivery.
    let key = credentialKeys.get(endpoint);
    if (key === undefined) {
      key = hashCredential(endpoint);
      credentialKeys.set(endpoint, key);
    }
    return key;
  }

  private fresh(t: { refreshAt: number | null; expiresAt: number | null }): boolean {
    const now = this.o.clock();
    return (
      (t.refreshAt === null || now < t.refreshAt) && (t.expiresAt === null || now < t.expiresAt)
    );
  }

  private ok(c: Cached): Authorization {
    return { ok: true, header: `Bearer ${c.accessToken}`, bearer: true, generation: c.generation };
  }

  private fromRecord(record: TokenRecord): Cached | undefined {
    if (!record.accessTokenCiphertext) return undefined;
    const cached: Cached = {
      credentialKey: record.credentialKey,
      generation: record.generation,
      accessToken: this.o.box.open(record.accessTokenCiphertext),
      refreshAt: record.refreshAt,
      expiresAt: record.expiresAt,
    };
    this.cache.set(record.endpointId, cached);
    return cached;
  }

  /** Known-dead or backing-off credentials are answered without a token request. */
  private shortCircuit(endpoint: Endpoint, key: string): Authorization | undefined {
    const dead = this.dead.get(endpoint.id);
    if (dead && dead.credentialKey === key) {
      return { ok: false, kind: 'terminal', message: dead.reason, retryInMs: 0 };
    }
    const wait = this.backoff.get(endpoint.id);
    if (wait && wait.credentialKey === key && wait.until > this.o.clock()) {
      return {
        ok: false,
        kind: 'transient',
        message: 'The token endpoint failed recently; waiting before trying again',
        retryInMs: wait.until - this.o.clock(),
      };
    }
    return undefined;
  }

  async accessToken(endpoint: Endpoint): Promise<Authorization> {
    const key = TokenManager.credentialKey(endpoint);
    const cached = this.cache.get(endpoint.id);
    if (cached && cached.credentialKey === key && this.fresh(cached)) return this.ok(cached);
    const stop = this.shortCircuit(endpoint, key);
    if (stop) return stop;
    const record = await this.o.store.getToken(endpoint.id);
    if (record && record.credentialKey === key) {
      if (record.deadReason) return this.markDead(endpoint, key, record.deadReason);
      const stored = this.fromRecord(record);
      if (stored && this.fresh(stored)) return this.ok(stored);
    }
    return (await this.refresh(endpoint, record?.credentialKey === key ? record.generation : 0))
      .authorization;
  }

  async tokenRejected(endpoint: Endpoint, generation: number): Promise<Authorization> {
    const key = TokenManager.credentialKey(endpoint);
    const cached = this.cache.get(endpoint.id);
    if (
      cached &&
      cached.credentialKey === key &&
      cached.generation > generation &&
      this.fresh(cached)
    ) {
      return this.ok(cached);
    }
    const stop = this.shortCircuit(endpoint, key);
    if (stop) return stop;
    const record = await this.o.store.getToken(endpoint.id);
    if (record && record.credentialKey === key) {
      if (record.deadReason) return this.markDead(endpoint, key, record.deadReason);
      if (record.generation > generation) {
        const stored = this.fromRecord(record);
        if (stored && this.fresh(stored)) return this.ok(stored);
      }
    }
    if (cached?.generation === generation) this.cache.delete(endpoint.id);
    return (await this.refresh(endpoint, generation)).authorization;
  }

  /** Refreshes now, whatever the cache holds (herald token test/refresh); still single flight. */
  async forceRefresh(endpoint: Endpoint): Promise<RefreshReport> {
    const key = TokenManager.credentialKey(endpoint);
    this.backoff.delete(endpoint.id);
    const dead = this.dead.get(endpoint.id);
    if (dead && dead.credentialKey === key) {
      return {
        authorization: { ok: false, kind: 'terminal', message: dead.reason, retryInMs: 0 },
        instanceUrl: null,
        identityUrl: null,
        rotated: false,
        scope: null,
      };
    }
    const record = await this.o.store.getToken(endpoint.id);
    return this.refresh(endpoint, record?.credentialKey === key ? record.generation : 0);
  }

  /** The refresh token and access token in use now (rotated ones included), for revoke and introspect. */
  async currentTokens(
    endpoint: Endpoint,
  ): Promise<{ refreshToken: string | undefined; accessToken: string | undefined }> {
    const key = TokenManager.credentialKey(endpoint);
    const record = await this.o.store.getToken(endpoint.id);
    const same = record !== undefined && record.credentialKey === key;
    return {
      refreshToken:
        same && record.refreshTokenCiphertext
          ? this.o.box.open(record.refreshTokenCiphertext)
          : endpoint.secrets.refreshToken,
      accessToken:
        same && record.accessTokenCiphertext
          ? this.o.box.open(record.accessTokenCiphertext)
          : undefined,
    };
  }

  /** The credential was revoked on purpose: never use it again. */
  async revoked(endpoint: Endpoint, reason: string): Promise<void> {
    const key = TokenManager.credentialKey(endpoint);
    const record = await this.o.store.getToken(endpoint.id);
    await this.persistDead(endpoint, key, (record?.generation ?? 0) + 1, record, reason);
    this.markDead(endpoint, key, reason);
  }

  private refresh(endpoint: Endpoint, seenGeneration: number): Promise<RefreshReport> {
    let flight = this.flights.get(endpoint.id);
    if (!flight) {
      flight = this.refreshUnderLock(endpoint, seenGeneration).finally(() =>
        this.flights.delete(endpoint.id),
      );
      this.flights.set(endpoint.id, flight);
    }
    return flight;
  }

  private markDead(endpoint: Endpoint, key: string, reason: string): Authorization {
    this.dead.set(endpoint.id, { credentialKey: key, reason });
    this.cache.delete(endpoint.id);
    return { ok: false, kind: 'terminal', message: reason, retryInMs: 0 };
  }

  private transient(endpoint: Endpoint, key: string, message: string): Authorization {
    const previous = this.backoff.get(endpoint.id);
    const failures = previous && previous.credentialKey === key ? previous.failures + 1 : 1;
    const wait =
      Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1)) * (0.8 + 0.4 * this.o.random());
    this.backoff.set(endpoint.id, { credentialKey: key, failures, until: this.o.clock() + wait });
    return { ok: false, kind: 'transient', message, retryInMs: Math.round(wait) };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private async refreshUnderLock(
    endpoint: Endpoint,
    seenGeneration: number,
  ): Promise<RefreshReport> {
    const key = TokenManager.credentialKey(endpoint);
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
    const deadline = this.o.clock() + 2 * this.lockTtlMs;
    let concurrentRejections = 0;
    let retriedAmbiguous = false;
    for (;;) {
      const now = this.o.clock();
      if (
        !(await this.o.store.acquireTokenLock(endpoint.id, this.o.owner, now, now + this.lockTtlMs))
      ) {
        // Another process is refreshing this credential: wait for its result.
        if (now > deadline)
          return report(
            this.transient(endpoint, key, 'Another process holds the token refresh lock'),
          );
        await this.sleep(this.waitPollMs);
        const record = await this.o.store.getToken(endpoint.id);
        if (record && record.credentialKey === key) {
          if (record.deadReason) return report(this.markDead(endpoint, key, record.deadReason));
          if (record.generation > seenGeneration) {
            const adopted = this.fromRecord(record);
            if (adopted && this.fresh(adopted))
              return report(this.ok(adopted), { instanceUrl: record.instanceUrl });
          }
        }
        continue;
      }
      let retry = false;
      try {
        // Re-read under the lock: someone may have refreshed since this delivery read its token.
        const record = await this.o.store.getToken(endpoint.id);
        const same = record !== undefined && record.credentialKey === key;
        if (same && record.deadReason)
          return report(this.markDead(endpoint, key, record.deadReason));
        if (same && record.generation > seenGeneration) {
          const adopted = this.fromRecord(record);
          if (adopted && this.fresh(adopted))
            return report(this.ok(adopted), { instanceUrl: record.instanceUrl });
        }
        const refreshToken =
          same && record.refreshTokenCiphertext
            ? this.o.box.open(record.refreshTokenCiphertext)
            : endpoint.secrets.refreshToken;
        const grant =
          endpoint.oauth!.grantType === 'REFRESH_TOKEN' ? 'refresh_token' : 'client_credentials';
        const result = await requestToken(
          { oauth: endpoint.oauth!, clientSecret: endpoint.secrets.clientSecret, refreshToken },
          this.o.fetch,
        );
        const generation = (record?.generation ?? 0) + 1;
        if (result.ok) {
          this.o.metrics.tokenRequests.inc({ grant, outcome: 'success' });
          this.o.metrics.tokenRefreshes.inc({ endpoint: endpoint.id });
          return report(await this.persist(endpoint, key, generation, refreshToken, result), {
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
            await this.persistDead(endpoint, key, generation, record, result.message);
            return report(this.markDead(endpoint, key, result.message));
          case 'concurrent':
            if (++concurrentRejections <= CONCURRENT_RETRIES) {
              retry = true;
              break;
            }
            return report(this.transient(endpoint, key, result.message));
          case 'transient':
            // The answer may have been lost after the server consumed the refresh token:
            // retry once at once (an invalid_grant then is terminal, as it should be).
            if (result.ambiguous && !retriedAmbiguous) {
              retriedAmbiguous = true;
              continue;
            }
            return report(this.transient(endpoint, key, result.message));
        }
      } finally {
        await this.o.store.releaseTokenLock(endpoint.id, this.o.owner).catch((error: unknown) => {
          this.o.logger.error(
            { err: error, endpointId: endpoint.id },
            'could not release the token lock',
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
    key: string,
    generation: number,
    usedRefreshToken: string | undefined,
    result: GrantResult & { ok: true },
  ): Promise<Authorization> {
    const now = this.o.clock();
    const keepRefresh = result.refreshToken ?? usedRefreshToken;
    const refreshAt = result.expiresIn === undefined ? null : refreshAheadAt(now, result.expiresIn);
    const expiresAt = result.expiresIn === undefined ? null : now + result.expiresIn * 1000;
    const record: TokenRecord = {
      endpointId: endpoint.id,
      credentialKey: key,
      generation,
      accessTokenCiphertext: this.o.box.seal(result.accessToken),
      refreshTokenCiphertext:
        endpoint.oauth!.grantType === 'REFRESH_TOKEN' && keepRefresh
          ? this.o.box.seal(keepRefresh)
          : null,
      expiresAt,
      refreshAt,
      instanceUrl: result.instanceUrl ?? null,
      deadReason: null,
      updatedAt: now,
    };
    let saved = false;
    try {
      saved = await this.o.store.saveToken(record);
      if (!saved)
        throw new Error(
          'the stored token generation moved while this process held the refresh lock',
        );
    } catch (error) {
      // Under rotation the old refresh token is already dead: losing the new one loses the grant.
      this.o.logger.fatal(
        { err: error, endpointId: endpoint.id },
        'could not store a refreshed OAuth token',
      );
      this.o.onPersistFailed(endpoint, error);
    }
    this.backoff.delete(endpoint.id);
    const cached: Cached = {
      credentialKey: key,
      generation,
      accessToken: result.accessToken,
      refreshAt,
      expiresAt,
    };
    this.cache.set(endpoint.id, cached);
    return this.ok(cached);
  }

  private async persistDead(
    endpoint: Endpoint,
    key: string,
    generation: number,
    previous: TokenRecord | undefined,
    reason: string,
  ): Promise<void> {
    try {
      await this.o.store.saveToken({
        endpointId: endpoint.id,
        credentialKey: key,
        generation,
        accessTokenCiphertext: null,
        refreshTokenCiphertext:
          previous?.credentialKey === key ? previous.refreshTokenCiphertext : null,
        expiresAt: null,
        refreshAt: null,
        instanceUrl: previous?.instanceUrl ?? null,
        deadReason: reason,
        updatedAt: this.o.clock(),
      });
    } catch (error) {
      this.o.logger.error(
        { err: error, endpointId: endpoint.id },
        'could not record dead OAuth credentials',
      );
    }
  }
}
