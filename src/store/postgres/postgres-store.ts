// The shared store: PostgreSQL, used by any number of Herald processes on any number of machines.
// Work is leased with FOR UPDATE SKIP LOCKED in batches; leases expire so a dead process's work
// moves on; LISTEN/NOTIFY wakes idle workers at once; token refreshes take a row lock with an
// expiry and persist with a generation compare-and-set.

import { createHash } from 'node:crypto';
import pg from 'pg';
import type { AuthStatus, EndpointState, Origin } from '../../domain/endpoint.js';
import type { AccountId, ApiKeyId, DeliveryId, EndpointId, EventId } from '../../domain/ids.js';
import { ACTIVITY_KEEP_MS, MINUTE_MS, rollUpActivity, type ResultFacts } from '../activity.js';
import { GroupCommit } from '../group-commit.js';
import { loadMigrations } from '../migrations.js';
import {
  insertAccount,
  insertApiKey,
  insertCopy,
  insertEndpoint,
  insertWork,
  placeholders,
  writeToken,
} from './inserts.js';
import {
  ACCEPTING_ENDPOINTS,
  ENDPOINT_COLUMNS,
  endpointParams,
  eventConditions,
  num,
  numOrNull,
  str,
  strOrNull,
  toAccount,
  toActivity,
  toApiKey,
  toAttempt,
  toClaimed,
  toDelivery,
  toEndpoint,
  toEndpointActivity,
  toEvent,
  toOperationalEvent,
  toQueueStats,
  toToken,
  TOKEN_COLUMNS,
  TOKEN_PARAMS,
  tokenParams,
  type Row,
} from '../rows.js';
import type {
  AccountRecord,
  ApiKeyRecord,
  AttemptRecord,
  ClaimQuery,
  ClaimedDelivery,
  DeliveryActivity,
  DeliveryFilter,
  DeliveryRecord,
  DeliveryResult,
  EndpointActivity,
  EndpointRow,
  EventFilter,
  EventRecord,
  IngestBatch,
  IngestOutcome,
  MigrationReport,
  OperationalEventRecord,
  Page,
  QueueStats,
  Store,
  StoreCopy,
  StoreCapabilities,
  TokenRecord,
  WorkItem,
} from '../port.js';

export interface PostgresStoreOptions {
  readonly connectionString: string;
  /** Connections in the pool; claims and results are batched, so a few serve many deliveries. */
  readonly poolSize?: number;
}

// BIGINT (int8) columns hold milliseconds: safe as JavaScript numbers.
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/** A description of the URL without its password. */
function describe(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/** Endpoints a thorough claim looks at, at most. */
const DISCOVERY_LIMIT = 512;

/** How long getting a pooled connection may take before the request fails as unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;

export class PostgresStore implements Store {
  readonly description: string;
  readonly capabilities: StoreCapabilities = {
    concurrentWorkers: true,
    crossProcessWakeups: true,
    singleProcess: false,
  };
  private readonly ingests = GroupCommit.ofBatches((group) => this.commitIngest(group));

  private readonly pool: pg.Pool;
  private readonly connectionString: string;
  private channel = 'herald_work';
  /** The minute of activity last pruned up to (see countActivity). */
  private activityPrunedAt = 0;

  constructor(options: PostgresStoreOptions) {
    this.connectionString = options.connectionString;
    this.description = describe(options.connectionString);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      // An unreachable server fails requests with 503 store_unavailable instead of hanging them.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      types,
    });
    // An idle client that loses its connection must not crash the process.
    this.pool.on('error', () => undefined);
  }

  private async query(text: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(text, values)).rows as Row[];
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async migrate(): Promise<MigrationReport> {
    const migrations = loadMigrations(new URL('./migrations/', import.meta.url));
    return this.transaction(async (client) => {
      // One migrator at a time across processes.
      await client.query('SELECT pg_advisory_xact_lock(7306154021)');
      await client.query(
        'CREATE TABLE IF NOT EXISTS herald_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const row = (await client.query('SELECT MAX(version) AS v FROM herald_migrations'))
        .rows[0] as Row;
      const from = row.v === null ? 0 : Number(row.v);
      const latest = migrations.at(-1)?.version ?? 0;
      if (from > latest) {
        throw new Error(
          `The database is at schema version ${from}, newer than this Herald (${latest}); upgrade Herald`,
        );
      }
      const applied: string[] = [];
      for (const m of migrations) {
        if (m.version <= from) continue;
        await client.query(m.sql);
        await client.query(
          'INSERT INTO herald_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          [m.version, m.name, Date.now()],
        );
        applied.push(`${String(m.version).padStart(4, '0')}_${m.name}`);
      }
      const schema = (await client.query('SELECT current_schema() AS s')).rows[0] as Row;
      this.channel = `herald_work_${createHash('sha256').update(String(schema.s)).digest('hex').slice(0, 12)}`;
      return { from, to: latest, applied };
    });
  }

  async close(): Promise<void> {
    // Publishes made before closing are committed first.
    await this.ingests.close();
    await this.pool.end().catch(() => undefined);
  }

  async getSetting(key: string): Promise<string | undefined> {
    const rows = await this.query('SELECT value FROM settings WHERE key = $1', [key]);
    return rows[0] === undefined ? undefined : str(rows[0].value);
  }

  async initSetting(key: string, value: string): Promise<string> {
    await this.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
      [key, value],
    );
    return (await this.getSetting(key))!;
  }

  async insertAccount(a: AccountRecord): Promise<void> {
    await insertAccount(this.pool, a);
  }

  async getAccount(id: AccountId): Promise<AccountRecord | undefined> {
    const rows = await this.query('SELECT * FROM accounts WHERE id = $1', [id]);
    return rows[0] && toAccount(rows[0]);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.query('SELECT * FROM accounts ORDER BY id')).map(toAccount);
  }

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    await insertApiKey(this.pool, k);
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const rows = await this.query('SELECT * FROM api_keys WHERE hash = $1', [hash]);
    return rows[0] && toApiKey(rows[0]);
  }

  async listApiKeys(accountId: AccountId): Promise<ApiKeyRecord[]> {
    return (
      await this.query('SELECT * FROM api_keys WHERE account_id = $1 ORDER BY id', [accountId])
    ).map(toApiKey);
  }

  async revokeApiKey(accountId: AccountId, id: ApiKeyId, at: number): Promise<boolean> {
    const result = await this.pool.query(
      'UPDATE api_keys SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL',
      [at, accountId, id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async insertEndpoint(row: EndpointRow): Promise<void> {
    await insertEndpoint(this.pool, row);
  }

  async updateEndpoint(row: EndpointRow): Promise<boolean> {
    const sets = ENDPOINT_COLUMNS.split(', ')
      .filter((c) => c !== 'id')
      .map((c, i) => `${c} = $${i + 1}`)
      .join(', ');
    const result = await this.pool.query(
      `UPDATE endpoints SET ${sets} WHERE id = $18 AND version = $19`,
      [...endpointParams(row), row.version - 1],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async getEndpoint(id: EndpointId): Promise<EndpointRow | undefined> {
    const rows = await this.query('SELECT * FROM endpoints WHERE id = $1', [id]);
    return rows[0] && toEndpoint(rows[0]);
  }

  async findEndpointByOrigin(
    accountId: AccountId,
    origin: Origin,
  ): Promise<EndpointRow | undefined> {
    const rows = await this.query('SELECT * FROM endpoints WHERE account_id = $1 AND origin = $2', [
      accountId,
      origin,
    ]);
    return rows[0] && toEndpoint(rows[0]);
  }

  async listEndpoints(accountId: AccountId): Promise<EndpointRow[]> {
    return (
      await this.query('SELECT * FROM endpoints WHERE account_id = $1 ORDER BY id', [accountId])
    ).map(toEndpoint);
  }

  async deleteEndpoint(accountId: AccountId, id: EndpointId): Promise<boolean> {
    return this.transaction(async (client) => {
      const result = await client.query('DELETE FROM endpoints WHERE account_id = $1 AND id = $2', [
        accountId,
        id,
      ]);
      if ((result.rowCount ?? 0) === 0) return false;
      await client.query(
        'DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE endpoint_id = $1)',
        [id],
      );
      await client.query('DELETE FROM deliveries WHERE endpoint_id = $1', [id]);
      await client.query('DELETE FROM oauth_tokens WHERE endpoint_id = $1', [id]);
      await client.query('DELETE FROM delivery_activity WHERE endpoint_id = $1', [id]);
      return true;
    });
  }

  async countEndpointsByState(): Promise<
    Array<{ state: EndpointState; authStatus: AuthStatus; count: number }>
  > {
    const rows = await this.query(
      'SELECT state, auth_status, COUNT(*)::int AS n FROM endpoints GROUP BY state, auth_status',
    );
    return rows.map((r) => ({
      state: str(r.state) as EndpointState,
      authStatus: str(r.auth_status) as AuthStatus,
      count: num(r.n),
    }));
  }

  ingest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.ingests.submit(batches);
  }

  /** Commits a group of publish batches in one transaction, each batch a savepoint inside it. */
  private commitIngest(batches: readonly IngestBatch[]): Promise<IngestOutcome[]> {
    return this.transaction(async (client) => {
      const outcomes: IngestOutcome[] = [];
      let due = false;
      for (const [i, batch] of batches.entries()) {
        await client.query(`SAVEPOINT b${i}`);
        try {
          outcomes.push(await this.ingestOne(client, batch));
          await client.query(`RELEASE SAVEPOINT b${i}`);
        } catch (error) {
          await client.query(`ROLLBACK TO SAVEPOINT b${i}`);
          throw error;
        }
        if (
          outcomes.at(-1)!.kind === 'inserted' &&
          batch.events.some((e) => e.deliveries.some((d) => d.status === 'pending'))
        ) {
          due = true;
        }
      }
      // Delivered at commit: workers in every process wake at once.
      if (due) await client.query('SELECT pg_notify($1, $2)', [this.channel, '']);
      return outcomes;
    });
  }

  private async ingestOne(client: pg.PoolClient, batch: IngestBatch): Promise<IngestOutcome> {
    if (batch.idempotency) {
      const claimed = await client.query(
        `INSERT INTO idempotency_keys (account_id, key, request_hash, response, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, key) DO NOTHING`,
        [
          batch.accountId,
          batch.idempotency.key,
          batch.idempotency.requestHash,
          batch.response,
          batch.events[0]?.event.receivedAt ?? Date.now(),
        ],
      );
      if ((claimed.rowCount ?? 0) === 0) {
        const seen = (
          await client.query(
            'SELECT request_hash, response FROM idempotency_keys WHERE account_id = $1 AND key = $2',
            [batch.accountId, batch.idempotency.key],
          )
        ).rows[0] as Row;
        return seen.request_hash === batch.idempotency.requestHash
          ? { kind: 'replayed', response: str(seen.response) }
          : { kind: 'conflict' };
      }
    }
    const events = batch.events.map((e) => e.event);
    await client.query(
      `INSERT INTO events (id, account_id, name, package_id, payload, received_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.accountId),
        events.map((e) => e.name),
        events.map((e) => e.packageId),
        events.map((e) => e.payload),
        events.map((e) => e.receivedAt),
      ],
    );
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
    for (const { event, deliveries } of batch.events) {
      for (const d of deliveries) {
        cols[0]!.push(d.id);
        cols[1]!.push(event.id);
        cols[2]!.push(d.endpointId);
        cols[3]!.push(event.accountId);
        cols[4]!.push(event.name);
        cols[5]!.push(d.status);
        cols[6]!.push(d.status === 'pending' ? event.receivedAt : null);
        cols[7]!.push(d.orderingKey);
        cols[8]!.push(event.receivedAt);
      }
    }
    if (cols[0]!.length > 0) {
      // Only for endpoints that still exist; the key-share lock makes a concurrent delete wait
      // for this commit, so it removes these deliveries too instead of leaving them orphaned.
      await client.query(
        `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, event_name, status, next_attempt_at,
           ordering_key, created_at, updated_at)
         SELECT t.id, e, ep, a, n, s, nx, ok, c, c
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                       $8::text[], $9::bigint[]) WITH ORDINALITY AS t(id, e, ep, a, n, s, nx, ok, c, ord)
           JOIN (SELECT id FROM endpoints WHERE id = ANY($3::text[]) FOR KEY SHARE) live ON live.id = t.ep
          ORDER BY ord`,
        cols,
      );
    }
    return { kind: 'inserted' };
  }

  async getEvent(accountId: AccountId, id: EventId): Promise<EventRecord | undefined> {
    const rows = await this.query('SELECT * FROM events WHERE account_id = $1 AND id = $2', [
      accountId,
      id,
    ]);
    return rows[0] && toEvent(rows[0]);
  }

  async searchEvents(
    filter: EventFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<EventRecord>> {
    const { where, params } = eventConditions(filter, cursor, (n) => `$${n}`);
    params.push(limit + 1);
    const rows = await this.query(
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit).map(toEvent);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async claimDeliveries(q: ClaimQuery): Promise<ClaimedDelivery[]> {
    const claimable = `NOT (d.endpoint_id = ANY($2::text[]))
      AND (d.ordering_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM deliveries p
             WHERE p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key
               AND p.seq < d.seq AND p.status IN ('pending', 'delivering', 'held')))`;
    const lease = (picked: string) => `
       UPDATE deliveries d
          SET status = 'delivering', lease_owner = $4, lease_expires_at = $5, updated_at = $1
         FROM ${picked} c, events e, endpoints ep
        WHERE d.seq = c.seq AND e.id = d.event_id AND ep.id = d.endpoint_id
       RETURNING d.id, d.event_id, d.endpoint_id, d.account_id, d.attempts, d.cycle_attempts, d.manual,
                 d.next_attempt_at, e.payload, ep.version`;
    // The head of the due queue, bounded: a skipped endpoint's backlog is never walked whole.
    let rows = await this.query(
      `WITH head AS (
         SELECT seq FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
          ORDER BY next_attempt_at LIMIT $3 * 4
       ), candidates AS (
         SELECT d.seq FROM head JOIN deliveries d ON d.seq = head.seq
          WHERE d.status = 'pending' AND ${claimable}
          ORDER BY d.next_attempt_at
          LIMIT $3
          FOR UPDATE OF d SKIP LOCKED
       )
       ${lease('candidates')}`,
      [q.now, q.skipEndpoints, q.limit, q.owner, q.leaseUntil],
    );
    if (rows.length < q.limit && q.thorough) {
      // Endpoints with pending work by a loose index scan (one seek each), then a fair share of
      // each one's due deliveries.
      const more = await this.query(
        `WITH RECURSIVE eps(id) AS (
           SELECT (SELECT MIN(endpoint_id) FROM deliveries WHERE status = 'pending')
           UNION ALL
           SELECT (SELECT MIN(endpoint_id) FROM deliveries WHERE status = 'pending' AND endpoint_id > eps.id)
             FROM eps WHERE eps.id IS NOT NULL
         ), others AS (
           SELECT id FROM eps WHERE id IS NOT NULL AND NOT (id = ANY($2::text[])) LIMIT ${DISCOVERY_LIMIT}
         ), candidates AS (
           SELECT picked.seq FROM others
           CROSS JOIN LATERAL (
             SELECT d.seq FROM deliveries d
              WHERE d.status = 'pending' AND d.endpoint_id = others.id AND d.next_attempt_at <= $1 AND ${claimable}
              ORDER BY d.next_attempt_at
              LIMIT $6
              FOR UPDATE OF d SKIP LOCKED
           ) picked
           LIMIT $3
         )
         ${lease('candidates')}`,
        [
          q.now,
          q.skipEndpoints,
          q.limit - rows.length,
          q.owner,
          q.leaseUntil,
          Math.max(1, Math.ceil((q.limit - rows.length) / 8)),
        ],
      );
      rows = rows.concat(more);
    }
    rows.sort((a, b) => num(a.next_attempt_at) - num(b.next_attempt_at));
    return rows.map(toClaimed);
  }

  async renewLeases(owner: string, ids: readonly DeliveryId[], leaseUntil: number): Promise<void> {
    if (ids.length === 0) return;
    await this.query(
      `UPDATE deliveries SET lease_expires_at = $1 WHERE id = ANY($2::text[]) AND lease_owner = $3 AND status = 'delivering'`,
      [leaseUntil, ids, owner],
    );
  }

  async releaseLeases(owner: string, ids: readonly DeliveryId[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.query(
      `UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
        WHERE id = ANY($2::text[]) AND lease_owner = $3 AND status = 'delivering'`,
      [now, ids, owner],
    );
    await this.notify();
  }

  async recoverLeases(now: number, all: boolean): Promise<number> {
    const result = await this.pool.query(
      `UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
              next_attempt_at = LEAST(COALESCE(next_attempt_at, $1), $1), updated_at = $1
        WHERE status = 'delivering' AND ($2 OR lease_expires_at < $1)`,
      [now, all],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.notify();
    return count;
  }

  async recordResults(results: readonly DeliveryResult[]): Promise<void> {
    if (results.length === 0) return;
    const attempts = results.map((r) => r.attempt).filter((a): a is AttemptRecord => a !== null);
    await this.transaction(async (client) => {
      const updated = await client.query(
        `UPDATE deliveries d SET status = r.status, next_attempt_at = r.next, attempts = r.attempts,
                cycle_attempts = r.cycle, last_status_code = r.code, last_error = r.err, updated_at = r.updated,
                manual = FALSE, lease_owner = NULL, lease_expires_at = NULL
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::int[], $7::int[], $8::text[], $9::bigint[])
                AS r(id, owner, status, next, attempts, cycle, code, err, updated)
          WHERE d.id = r.id AND d.lease_owner = r.owner AND d.status = 'delivering'
          RETURNING d.id, d.endpoint_id, d.account_id, d.created_at`,
        [
          results.map((r) => r.deliveryId),
          results.map((r) => r.owner),
          results.map((r) => r.status),
          results.map((r) => r.nextAttemptAt),
          results.map((r) => r.attempts),
          results.map((r) => r.cycleAttempts),
          results.map((r) => r.lastStatusCode),
          results.map((r) => r.lastError),
          results.map((r) => r.updatedAt),
        ],
      );
      if (attempts.length > 0) {
        await client.query(
          `INSERT INTO attempts (id, delivery_id, number, trigger, started_at, duration_ms, status_code, outcome, error, response_body)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], $6::int[], $7::int[], $8::text[], $9::text[], $10::text[])`,
          [
            attempts.map((a) => a.id),
            attempts.map((a) => a.deliveryId),
            attempts.map((a) => a.number),
            attempts.map((a) => a.trigger),
            attempts.map((a) => a.startedAt),
            attempts.map((a) => a.durationMs),
            attempts.map((a) => a.statusCode),
            attempts.map((a) => a.outcome),
            attempts.map((a) => a.error),
            attempts.map((a) => a.responseBody),
          ],
        );
      }
      await this.countActivity(client, results, updated.rows as Row[]);
    });
  }

  /**
   * Adds the results whose delivery was updated (and that made an attempt) to the delivery
   * activity, in key order so that processes upserting the same rows never deadlock; once a
   * minute per process, forgets activity past its keep.
   */
  private async countActivity(
    client: pg.PoolClient,
    results: readonly DeliveryResult[],
    updated: readonly Row[],
  ): Promise<void> {
    const byId = new Map(updated.map((r) => [str(r.id), r]));
    const facts: ResultFacts[] = [];
    for (const r of results) {
      const row = byId.get(r.deliveryId);
      if (!row || !r.attempt) continue;
      facts.push({
        endpointId: str(row.endpoint_id) as EndpointId,
        accountId: str(row.account_id) as AccountId,
        createdAt: num(row.created_at),
        status: r.status,
        updatedAt: r.updatedAt,
        lastError: r.lastError,
      });
    }
    const rows = rollUpActivity(facts);
    if (rows.length === 0) return;
    await client.query(
      `INSERT INTO delivery_activity (endpoint_id, minute, outcome, bucket, account_id, count, last_error)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::text[])
       ON CONFLICT (endpoint_id, minute, outcome, bucket) DO UPDATE
         SET count = delivery_activity.count + EXCLUDED.count,
             last_error = COALESCE(EXCLUDED.last_error, delivery_activity.last_error)`,
      [
        rows.map((r) => r.endpointId),
        rows.map((r) => r.minute),
        rows.map((r) => r.outcome),
        rows.map((r) => r.bucket),
        rows.map((r) => r.accountId),
        rows.map((r) => r.count),
        rows.map((r) => r.lastError),
      ],
    );
    const latest = Math.max(...rows.map((r) => r.minute));
    if (latest - this.activityPrunedAt >= MINUTE_MS) {
      this.activityPrunedAt = latest;
      await client.query('DELETE FROM delivery_activity WHERE minute < $1', [
        latest - ACTIVITY_KEEP_MS,
      ]);
    }
  }

  async nextDueAt(): Promise<number | null> {
    const rows = await this.query(
      `SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'pending'`,
    );
    return numOrNull(rows[0]!.t);
  }

  async holdDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    const result = await this.pool.query(
      `UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = $1 WHERE endpoint_id = $2 AND status = 'pending'`,
      [now, endpointId],
    );
    return result.rowCount ?? 0;
  }

  async releaseHeldDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    const result = await this.pool.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 WHERE endpoint_id = $2 AND status = 'held'`,
      [now, endpointId],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.notify();
    return count;
  }

  async releaseStrandedHolds(now: number): Promise<number> {
    const result = await this.pool.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1
        WHERE status = 'held' AND endpoint_id IN (${ACCEPTING_ENDPOINTS})`,
      [now],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.notify();
    return count;
  }

  async listDeliveries(
    filter: DeliveryFilter,
    cursor: string | null,
    limit: number,
  ): Promise<Page<DeliveryRecord>> {
    const where = ['account_id = $1'];
    const params: unknown[] = [filter.accountId];
    const add = (column: string, op: string, value: unknown): void => {
      params.push(value);
      where.push(`${column} ${op} $${params.length}`);
    };
    if (filter.endpointId) add('endpoint_id', '=', filter.endpointId);
    if (filter.eventId) add('event_id', '=', filter.eventId);
    if (filter.status) add('status', '=', filter.status);
    if (filter.eventName) add('event_name', '=', filter.eventName);
    if (filter.packageId !== undefined) {
      params.push(filter.packageId);
      where.push(
        `event_id IN (SELECT id FROM events WHERE account_id = $1 AND package_id = $${params.length})`,
      );
    }
    if (filter.since !== undefined) add('created_at', '>=', filter.since);
    if (filter.until !== undefined) add('created_at', '<', filter.until);
    if (cursor) add('id', '<', cursor);
    params.push(limit + 1);
    const rows = await this.query(
      `SELECT * FROM deliveries WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    const data = rows.slice(0, limit).map(toDelivery);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }

  async getDelivery(accountId: AccountId, id: DeliveryId): Promise<DeliveryRecord | undefined> {
    const rows = await this.query('SELECT * FROM deliveries WHERE account_id = $1 AND id = $2', [
      accountId,
      id,
    ]);
    return rows[0] && toDelivery(rows[0]);
  }

  async listAttempts(deliveryId: DeliveryId): Promise<AttemptRecord[]> {
    return (
      await this.query('SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY number', [
        deliveryId,
      ])
    ).map(toAttempt);
  }

  async redeliver(
    accountId: AccountId,
    id: DeliveryId,
    now: number,
  ): Promise<DeliveryRecord | undefined> {
    const result = await this.pool.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, manual = TRUE, updated_at = $1,
              cycle_attempts = CASE WHEN status = 'pending' THEN cycle_attempts ELSE 0 END
        WHERE account_id = $2 AND id = $3 AND status IN ('failed', 'held', 'succeeded', 'pending')`,
      [now, accountId, id],
    );
    if ((result.rowCount ?? 0) > 0) await this.notify();
    return this.getDelivery(accountId, id);
  }

  async recover(
    endpointId: EndpointId,
    since: number,
    until: number,
    now: number,
  ): Promise<number> {
    const result = await this.pool.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, cycle_attempts = 0, manual = TRUE, updated_at = $1
        WHERE endpoint_id = $2 AND status IN ('failed', 'held') AND created_at >= $3 AND created_at < $4`,
      [now, endpointId, since, until],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.notify();
    return count;
  }

  async queueStats(now: number): Promise<QueueStats> {
    const rows = await this.query(
      `SELECT
         (SELECT COUNT(*) FROM deliveries WHERE status = 'pending')::int AS pending,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'delivering')::int AS delivering,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'held')::int AS held,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'failed')::int AS failed,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1)::int AS due,
         (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1) AS oldest`,
      [now],
    );
    const r = rows[0]!;
    return toQueueStats(r);
  }

  async accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats> {
    // Pending work is counted per endpoint of the account, in the partial index of pending
    // deliveries by endpoint; held and failed in theirs by account.
    const rows = await this.query(
      `WITH eps AS (SELECT id FROM endpoints WHERE account_id = $1)
       SELECT
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM eps))::int AS pending,
         (SELECT COUNT(*) FROM deliveries
           WHERE status = 'delivering' AND account_id = $1)::int AS delivering,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'held' AND account_id = $1)::int AS held,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'failed' AND account_id = $1)::int AS failed,
         (SELECT COUNT(*) FROM deliveries WHERE status = 'pending'
           AND endpoint_id IN (SELECT id FROM eps) AND next_attempt_at <= $2)::int AS due,
         (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'
           AND endpoint_id IN (SELECT id FROM eps) AND next_attempt_at <= $2) AS oldest`,
      [accountId, now],
    );
    return toQueueStats(rows[0]!);
  }

  async deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity> {
    const scope = accountId === null ? '' : 'account_id = $2 AND ';
    const params = accountId === null ? [since] : [since, accountId];
    const [minutes, latency] = await Promise.all([
      this.query(
        `SELECT minute, outcome, SUM(count) AS n FROM delivery_activity
          WHERE ${scope}minute >= $1 GROUP BY minute, outcome ORDER BY minute, outcome`,
        params,
      ),
      this.query(
        `SELECT bucket, SUM(count) AS n FROM delivery_activity
          WHERE ${scope}minute >= $1 AND outcome = 'succeeded' GROUP BY bucket ORDER BY bucket`,
        params,
      ),
    ]);
    return toActivity(minutes, latency);
  }

  async endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]> {
    const rows = await this.query(
      `SELECT a.endpoint_id, a.succeeded, a.retried, a.failed, a.last_error_at,
              (SELECT last_error FROM delivery_activity l
                WHERE l.endpoint_id = a.endpoint_id AND l.minute = a.last_error_at
                  AND l.last_error IS NOT NULL
                ORDER BY l.outcome LIMIT 1) AS last_error
         FROM (SELECT endpoint_id,
                      SUM(CASE WHEN outcome = 'succeeded' THEN count ELSE 0 END) AS succeeded,
                      SUM(CASE WHEN outcome = 'retried' THEN count ELSE 0 END) AS retried,
                      SUM(CASE WHEN outcome = 'failed' THEN count ELSE 0 END) AS failed,
                      MAX(CASE WHEN last_error IS NOT NULL THEN minute END) AS last_error_at
                 FROM delivery_activity WHERE account_id = $1 AND minute >= $2
                GROUP BY endpoint_id) a
        ORDER BY a.endpoint_id`,
      [accountId, since],
    );
    return rows.map((r) => toEndpointActivity(r, strOrNull(r.last_error)));
  }

  async getToken(endpointId: EndpointId): Promise<TokenRecord | undefined> {
    const rows = await this.query('SELECT * FROM oauth_tokens WHERE endpoint_id = $1', [
      endpointId,
    ]);
    return rows[0] && toToken(rows[0]);
  }

  async saveToken(t: TokenRecord): Promise<boolean> {
    const values = tokenParams(t);
    if (t.generation === 1) {
      const inserted = await this.pool.query(
        `INSERT INTO oauth_tokens (${TOKEN_COLUMNS}) VALUES (${placeholders(TOKEN_PARAMS)}) ON CONFLICT (endpoint_id) DO NOTHING`,
        values,
      );
      if ((inserted.rowCount ?? 0) > 0) return true;
    }
    // Compare-and-set on the generation: a writer that lost the race changes nothing.
    const updated = await this.pool.query(
      `UPDATE oauth_tokens SET (${TOKEN_COLUMNS}) = (${placeholders(TOKEN_PARAMS)}) WHERE endpoint_id = $1 AND generation = $3 - 1`,
      values,
    );
    return (updated.rowCount ?? 0) > 0;
  }

  async acquireTokenLock(
    endpointId: EndpointId,
    owner: string,
    now: number,
    until: number,
  ): Promise<boolean> {
    await this.query(
      `INSERT INTO oauth_tokens (endpoint_id, credential_key, generation, updated_at) VALUES ($1, '', 0, $2)
       ON CONFLICT (endpoint_id) DO NOTHING`,
      [endpointId, now],
    );
    const result = await this.pool.query(
      `UPDATE oauth_tokens SET lock_owner = $1, lock_until = $2
        WHERE endpoint_id = $3 AND (lock_owner IS NULL OR lock_until < $4 OR lock_owner = $1)`,
      [owner, until, endpointId, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async releaseTokenLock(endpointId: EndpointId, owner: string): Promise<void> {
    await this.query(
      'UPDATE oauth_tokens SET lock_owner = NULL, lock_until = NULL WHERE endpoint_id = $1 AND lock_owner = $2',
      [endpointId, owner],
    );
  }

  private async notify(): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [this.channel, '']);
  }

  async subscribeWork(listener: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | null = null;
    const connect = async (): Promise<void> => {
      while (!stopped) {
        const c = new pg.Client({ connectionString: this.connectionString });
        try {
          await c.connect();
          c.on('notification', () => listener());
          c.on('error', () => undefined);
          c.on('end', () => {
            if (!stopped) {
              client = null;
              // Reconnect, and wake the worker: notifications may have been missed meanwhile.
              listener();
              setTimeout(() => void connect(), 1000);
            }
          });
          await c.query(`LISTEN ${this.channel}`);
          client = c;
          return;
        } catch {
          await c.end().catch(() => undefined);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    await connect();
    return async () => {
      stopped = true;
      await client?.end().catch(() => undefined);
    };
  }

  async exportWork(afterEventId: string | null, limit: number): Promise<WorkItem[]> {
    const events = await this.query(
      `SELECT * FROM events e WHERE e.id > $1 AND EXISTS (
         SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status <> 'succeeded')
       ORDER BY e.id LIMIT $2`,
      [afterEventId ?? '', limit],
    );
    if (events.length === 0) return [];
    const deliveries = await this.query(
      `SELECT * FROM deliveries WHERE event_id = ANY($1::text[]) AND status <> 'succeeded' ORDER BY seq`,
      [events.map((e) => e.id)],
    );
    return events.map((r) => ({
      event: toEvent(r),
      deliveries: deliveries
        .filter((d) => d.event_id === r.id)
        .map((d) => ({
          ...toDelivery(d),
          orderingKey: d.ordering_key === null ? null : str(d.ordering_key),
        })),
    }));
  }

  async importWork(items: readonly WorkItem[]): Promise<void> {
    await this.transaction((client) => insertWork(client, items));
  }

  async importToken(t: TokenRecord): Promise<void> {
    await writeToken(this.pool, t);
  }

  async importCopy(copy: StoreCopy): Promise<void> {
    await this.transaction((client) => insertCopy(client, copy, this.description));
  }

  async insertOperationalEvent(e: OperationalEventRecord): Promise<void> {
    await this.query(
      'INSERT INTO operational_events (id, account_id, type, endpoint_id, delivery_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [e.id, e.accountId, e.type, e.endpointId, e.deliveryId, JSON.stringify(e.data), e.createdAt],
    );
  }

  async listOperationalEvents(
    accountId: AccountId,
    cursor: string | null,
    limit: number,
  ): Promise<Page<OperationalEventRecord>> {
    const rows = await this.query(
      'SELECT * FROM operational_events WHERE account_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3',
      [accountId, cursor, limit + 1],
    );
    const data = rows.slice(0, limit).map(toOperationalEvent);
    return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null };
  }
}
