// Access tokens for OAuth listeners: cached in the store (sealed) so every worker shares them,
// refreshed once however many deliveries wait, rotated refresh tokens persisted before the new
// access token is used, and dead credentials remembered so they are never sent again.
//
// The facade its callers use (the delivery's token source, herald token, revoke and introspect),
// over three parts:
//   - credential-keys.ts: the two identities of a credential (lineage and submission);
//   - token-cache.ts: this process's tokens, single flight of refreshes and of 401 recoveries,
//     and which generations listeners refused;
//   - token-refresh.ts: one refresh under the store's lock, persisted with a generation
//     compare-and-set, dead credentials, back-off, and a rotated token the store did not take.

import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';
import type { Authorization, TokenSource } from '../delivery/credentials.js';
import { credentialLineage, credentialSubmission, deadIn, flightKey } from './credential-keys.js';
import { TokenCache } from './token-cache.js';
import { TokenRefresher, type RefreshReport, type TokenRefreshOptions } from './token-refresh.js';

export type { RefreshReport } from './token-refresh.js';
export type TokenManagerOptions = TokenRefreshOptions;

export class TokenManager implements TokenSource {
  private readonly cache: TokenCache;
  private readonly refresher: TokenRefresher;

  constructor(private readonly o: TokenManagerOptions) {
    this.cache = new TokenCache(o.box, o.clock);
    this.refresher = new TokenRefresher(o, this.cache);
  }

  async accessToken(endpoint: Endpoint): Promise<Authorization> {
    const lineage = credentialLineage(endpoint);
    const cached = this.cache.get(endpoint.id);
    if (cached && cached.lineage === lineage && this.cache.fresh(cached)) {
      return TokenCache.ok(cached);
    }
    // A listener refused the token the store still holds: what the recovery brings is newer.
    const recovery = this.cache.recovering(flightKey(endpoint));
    if (recovery) return recovery;
    return this.storedOrRefreshed(endpoint, lineage, undefined);
  }

  /** The endpoints this manager keeps something for (a token, a refusal, a back-off, ...). */
  *endpointsHeld(): Iterable<EndpointId> {
    yield* new Set([...this.cache.endpointsHeld(), ...this.refresher.endpointsHeld()]);
  }

  /**
   * The endpoint was deleted: drop its tokens and state. A refresh under way finishes on its own
   * (its result goes to no one who asks again).
   */
  forget(id: EndpointId): void {
    this.cache.forget(id);
    this.refresher.forget(id);
  }

  refused(endpoint: Endpoint, generation: number): boolean {
    return this.cache.refused(endpoint, generation);
  }

  async tokenRejected(endpoint: Endpoint, generation: number): Promise<Authorization> {
    this.cache.refuse(endpoint, generation);
    const lineage = credentialLineage(endpoint);
    const cached = this.cache.get(endpoint.id);
    if (
      cached &&
      cached.lineage === lineage &&
      cached.generation > generation &&
      this.cache.fresh(cached)
    ) {
      return TokenCache.ok(cached);
    }
    if (cached?.generation === generation) this.cache.delete(endpoint.id);
    return this.cache.recover(flightKey(endpoint), generation, () =>
      this.storedOrRefreshed(endpoint, lineage, generation),
    );
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
    const stop = this.refresher.shortCircuit(endpoint, submission);
    if (stop) return stop;
    const record = await this.o.store.getToken(endpoint.id);
    const dead = deadIn(record, submission);
    if (dead) return this.refresher.markDead(endpoint, submission, dead);
    const ours = record?.credentialKey === lineage ? record : undefined;
    if (ours && (rejected === undefined || ours.generation > rejected)) {
      const stored = this.cache.fromRecord(ours);
      if (stored && this.cache.fresh(stored)) return TokenCache.ok(stored);
    }
    return (await this.refresh(endpoint, rejected ?? ours?.generation ?? 0)).authorization;
  }

  /** Refreshes now, whatever the cache holds (herald token test/refresh); still single flight. */
  async forceRefresh(endpoint: Endpoint): Promise<RefreshReport> {
    const submission = credentialSubmission(endpoint);
    this.refresher.skipBackoff(endpoint.id);
    const dead = this.refresher.deadReason(endpoint, submission);
    if (dead !== undefined) {
      const authorization = this.refresher.terminal(dead, submission);
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
      refreshToken: this.refresher.newestRefreshToken(endpoint, record),
      accessToken:
        same && record.accessTokenCiphertext
          ? this.o.box.open(record.accessTokenCiphertext)
          : undefined,
    };
  }

  /** The credential was revoked on purpose: never use it again. */
  async revoked(endpoint: Endpoint, reason: string): Promise<void> {
    const submission = credentialSubmission(endpoint);
    await this.refresher.persistDead(endpoint, submission, reason);
    this.refresher.markDead(endpoint, submission, reason);
  }

  /**
   * One refresh from `seenGeneration` for all who wait, per credential submission: a delivery
   * with new credentials never joins the old ones' flight.
   */
  private refresh(endpoint: Endpoint, seenGeneration: number): Promise<RefreshReport> {
    return this.cache.flight(flightKey(endpoint), seenGeneration, () =>
      this.refresher.refreshUnderLock(endpoint, seenGeneration),
    );
  }
}
