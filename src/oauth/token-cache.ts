// What this process knows of each OAuth endpoint's token, and who is already fetching a newer one:
//   - the cached access token of each endpoint (its lineage, generation and lifetime);
//   - single flight of refreshes, per credential submission and per generation a refresh started
//     from: every waiting delivery gets the same result, and a refresh that began from an older
//     generation is not joined by one that must go past a newer one (that one runs after it);
//   - single flight of recoveries from a listener's 401, per credential submission: every
//     delivery in flight with the refused token comes back 401 at about the same time, and they
//     all wait for the first one's look at the store and refresh rather than each reading it;
//   - per endpoint, the newest generation of its current credentials a listener refused, so that
//     requests still waiting for a connection with that token are dropped before they are sent.
// No I/O here but opening a stored token with the secret box.

import type { Endpoint } from '../domain/endpoint.js';
import type { EndpointId } from '../domain/ids.js';
import type { Authorization } from '../delivery/credentials.js';
import type { SecretBox } from '../services/secret-box.js';
import type { TokenRecord } from '../store/port.js';
import { credentialSubmission, endpointOfFlightKey } from './credential-keys.js';
import type { RefreshReport } from './token-refresh.js';

export interface CachedToken {
  readonly lineage: string;
  readonly generation: number;
  readonly header: string;
  readonly refreshAt: number | null;
  readonly expiresAt: number | null;
}

export class TokenCache {
  private readonly tokens = new Map<EndpointId, CachedToken>();
  /** Refreshes under way, per credential submission, with the generation each started from. */
  private readonly flights = new Map<
    string,
    { readonly seen: number; readonly report: Promise<RefreshReport> }
  >();
  /** Per credential submission, the recovery from a listener's 401 under way. */
  private readonly recoveries = new Map<
    string,
    { readonly generation: number; readonly answer: Promise<Authorization> }
  >();
  /** Per endpoint, the newest generation of its current credentials that a listener refused. */
  private readonly refusedTokens = new Map<
    EndpointId,
    { readonly submission: string; readonly generation: number }
  >();

  constructor(
    private readonly box: SecretBox,
    private readonly clock: () => number,
  ) {}

  /** Neither due for refresh nor expired. */
  fresh(t: { refreshAt: number | null; expiresAt: number | null }): boolean {
    const now = this.clock();
    return (
      (t.refreshAt === null || now < t.refreshAt) && (t.expiresAt === null || now < t.expiresAt)
    );
  }

  static ok(c: CachedToken): Authorization {
    return { ok: true, header: c.header, bearer: true, generation: c.generation };
  }

  get(id: EndpointId): CachedToken | undefined {
    return this.tokens.get(id);
  }

  set(id: EndpointId, cached: CachedToken): void {
    this.tokens.set(id, cached);
  }

  delete(id: EndpointId): void {
    this.tokens.delete(id);
  }

  /** Caches the stored record's access token, if it has one. */
  fromRecord(record: TokenRecord): CachedToken | undefined {
    if (!record.accessTokenCiphertext) return undefined;
    const cached: CachedToken = {
      lineage: record.credentialKey,
      generation: record.generation,
      header: `Bearer ${this.box.open(record.accessTokenCiphertext)}`,
      refreshAt: record.refreshAt,
      expiresAt: record.expiresAt,
    };
    this.tokens.set(record.endpointId, cached);
    return cached;
  }

  /**
   * Joins the refresh under way for `key` when it started from `seen` or later; else starts one
   * (after the running one, which may adopt the very generation this one must go past).
   */
  flight(key: string, seen: number, start: () => Promise<RefreshReport>): Promise<RefreshReport> {
    const running = this.flights.get(key);
    if (running && running.seen >= seen) return running.report;
    const report = (running ? running.report.then(start, start) : start()).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    const flight = { seen, report };
    this.flights.set(key, flight);
    return report;
  }

  /** The recovery from a listener's 401 under way for `key`, whatever generation it began from. */
  recovering(key: string): Promise<Authorization> | undefined {
    return this.recoveries.get(key)?.answer;
  }

  /** Joins the recovery under way for `key` when it covers `generation`; else starts one. */
  recover(
    key: string,
    generation: number,
    start: () => Promise<Authorization>,
  ): Promise<Authorization> {
    const running = this.recoveries.get(key);
    if (running && running.generation >= generation) return running.answer;
    const recovery = {
      generation,
      answer: start().finally(() => {
        if (this.recoveries.get(key) === recovery) this.recoveries.delete(key);
      }),
    };
    this.recoveries.set(key, recovery);
    return recovery.answer;
  }

  /** Whether a listener refused the token of `generation` (or a newer one) of these credentials. */
  refused(endpoint: Endpoint, generation: number): boolean {
    const refused = this.refusedTokens.get(endpoint.id);
    return (
      refused !== undefined &&
      refused.generation >= generation &&
      refused.submission === credentialSubmission(endpoint)
    );
  }

  /** A listener refused the token of `generation`. */
  refuse(endpoint: Endpoint, generation: number): void {
    if (!this.refused(endpoint, generation)) {
      this.refusedTokens.set(endpoint.id, {
        submission: credentialSubmission(endpoint),
        generation,
      });
    }
  }

  /** The endpoints this cache keeps something for. */
  *endpointsHeld(): Iterable<EndpointId> {
    yield* this.tokens.keys();
    yield* this.refusedTokens.keys();
    for (const key of this.flights.keys()) yield endpointOfFlightKey(key);
    for (const key of this.recoveries.keys()) yield endpointOfFlightKey(key);
  }

  /** Drops all of the endpoint's state; a flight under way finishes on its own. */
  forget(id: EndpointId): void {
    this.tokens.delete(id);
    this.refusedTokens.delete(id);
    for (const map of [this.flights, this.recoveries]) {
      for (const key of map.keys()) if (key.startsWith(`${id}|`)) map.delete(key);
    }
  }
}
