// The shared store: PostgreSQL, used by any number of Herald processes on any number of machines.
// Work is leased with FOR UPDATE SKIP LOCKED in batches; leases expire so a dead process's work
// moves on; LISTEN/NOTIFY wakes idle workers at once; token refreshes take a row lock with an
// expiry and persist with a generation compare-and-set.

import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { AuthStatus, EndpointState, Origin } from '../../domain/endpoint.js';
import type { AccountId, ApiKeyId, DeliveryId, EndpointId, EventId } from '../../domain/ids.js';
import { PostgresConsoleQueries } from './console-queries.js';
import { GroupCommit } from '../group-commit.js';
import { Connections, type ConnectionOptions } from './connections.js';
import { loadMigrations } from '../migrations.js';
import * as operations from './operations.js';
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
  num,
  numOrNull,
  str,
  toAccount,
  toApiKey,
  toAttempt,
  toClaimed,
  toDelivery,
  toEndpoint,
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
  AlertEmailOutcome,
  AlertEmailRecord,
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
  OperationalDispatch,
  OperationalEventRecord,
  Page,
  PurgeResult,
  PurgeStep,
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
  /** Told of connections lost outside a call (idle in the pool, mid-transaction, LISTEN). */
  readonly onConnectionError?: ConnectionOptions['onConnectionError'];
}

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

export class PostgresStore implements Store {
  readonly description: string;
  readonly capabilities: StoreCapabilities = {
    concurrentWorkers: true,
    crossProcessWakeups: true,
    singleProcess: false,
  };
  private readonly ingests = GroupCommit.ofBatches((group) => this.commitIngest(group));

  private readonly connections: Connections;
  private channel = 'herald_work';
  /** The console's reads and the delivery activity recordResults counts. */
  private readonly reads = new PostgresConsoleQueries((text, values) => this.query(text, values));

  constructor(options: PostgresStoreOptions) {
    this.description = describe(options.connectionString);
    this.connections = new Connections({
      connectionString: options.connectionString,
      poolSize: options.poolSize ?? 10,
      ...(options.onConnectionError ? { onConnectionError: options.onConnectionError } : {}),
    });
  }

  private async query(text: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.connections.query(text, values)).rows as Row[];
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.connections.transaction(work);
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
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
    await this.connections.end();
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
    await insertAccount(this.connections, a);
  }

  async updateAccount(a: Pick<AccountRecord, 'id' | 'name' | 'contactEmail'>): Promise<boolean> {
    const result = await this.connections.query(
      'UPDATE accounts SET name = $1, contact_email = $2 WHERE id = $3',
      [a.name, a.contactEmail, a.id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async getAccount(id: AccountId): Promise<AccountRecord | undefined> {
    const rows = await this.query('SELECT * FROM accounts WHERE id = $1', [id]);
    return rows[0] && toAccount(rows[0]);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    return (await this.query('SELECT * FROM accounts ORDER BY id')).map(toAccount);
  }

  async insertApiKey(k: ApiKeyRecord): Promise<void> {
    await insertApiKey(this.connections, k);
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
    const result = await this.connections.query(
      'UPDATE api_keys SET revoked_at = $1 WHERE account_id = $2 AND id = $3 AND revoked_at IS NULL',
      [at, accountId, id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async insertEndpoint(row: EndpointRow): Promise<void> {
    await insertEndpoint(this.connections, row);
  }

  async updateEndpoint(
    row: EndpointRow,
    raised: readonly OperationalEventRecord[] = [],
  ): Promise<boolean> {
    const sets = ENDPOINT_COLUMNS.split(', ')
      .filter((c) => c !== 'id')
      .map((c, i) => `${c} = $${i + 1}`)
      .join(', ');
    const text = `UPDATE endpoints SET ${sets} WHERE id = $18 AND version = $19`;
    const values = [...endpointParams(row), row.version - 1];
    if (raised.length === 0) {
      return ((await this.connections.query(text, values)).rowCount ?? 0) > 0;
    }
    return this.transaction(async (client) => {
      const written = ((await client.query(text, values)).rowCount ?? 0) > 0;
      if (written) await operations.insertOperationalEvents(client, raised);
      return written;
    });
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
      await client.query('DELETE FROM endpoint_activity WHERE endpoint_id = $1', [id]);
      return true;
    });
  }

  async existingEndpoints(ids: readonly EndpointId[]): Promise<EndpointId[]> {
    if (ids.length === 0) return [];
    const rows = await this.query('SELECT id FROM endpoints WHERE id = ANY($1::text[])', [ids]);
    return rows.map((r) => str(r.id) as EndpointId);
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
      `INSERT INTO events (id, account_id, name, package_id, payload, received_at, trace_parent)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.accountId),
        events.map((e) => e.name),
        events.map((e) => e.packageId),
        events.map((e) => e.payload),
        events.map((e) => e.receivedAt),
        batch.events.map((e) => e.traceParent ?? null),
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
    return this.reads.searchEvents(filter, cursor, limit);
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
                 d.next_attempt_at, e.payload, ep.version, e.trace_parent`;
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
    const result = await this.connections.query(
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
    // Results that raise an operational event (exhausted) raise it only if their row applied.
    const raising = results.some((r) => r.raised !== null);
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
      // A hold decided while the endpoint refused work, written after it was fixed (its release
      // ran first, or waits on these rows and runs next), goes back to pending at once instead
      // of waiting for the stranded-hold sweep.
      const held = results.filter((r) => r.status === 'held');
      if (held.length > 0) {
        await client.query(
          `UPDATE deliveries d SET status = 'pending', next_attempt_at = r.at, updated_at = r.at
             FROM unnest($1::text[], $2::bigint[]) AS r(id, at)
            WHERE d.id = r.id AND d.status = 'held' AND d.endpoint_id IN (${ACCEPTING_ENDPOINTS})`,
          [held.map((r) => r.deliveryId), held.map((r) => r.updatedAt)],
        );
      }
      if (raising) {
        const applied = new Set(updated.rows.map((r) => str((r as Row).id)));
        await operations.insertOperationalEvents(
          client,
          results.flatMap((r) => (r.raised && applied.has(r.deliveryId) ? [r.raised] : [])),
        );
      }
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
      await this.reads.count(client, results, updated.rows as Row[]);
    });
  }

  async nextDueAt(): Promise<number | null> {
    const rows = await this.query(
      `SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE status = 'pending'`,
    );
    return numOrNull(rows[0]!.t);
  }

  async holdDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    const result = await this.connections.query(
      `UPDATE deliveries SET status = 'held', next_attempt_at = NULL, updated_at = $1 WHERE endpoint_id = $2 AND status = 'pending'`,
      [now, endpointId],
    );
    return result.rowCount ?? 0;
  }

  async releaseHeldDeliveries(endpointId: EndpointId, now: number): Promise<number> {
    const result = await this.connections.query(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1 WHERE endpoint_id = $2 AND status = 'held'`,
      [now, endpointId],
    );
    const count = result.rowCount ?? 0;
    if (count > 0) await this.notify();
    return count;
  }

  async releaseStrandedHolds(now: number): Promise<number> {
    const result = await this.connections.query(
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
    const result = await this.connections.query(
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
    const result = await this.connections.query(
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

  accountQueueStats(accountId: AccountId, now: number): Promise<QueueStats> {
    return this.reads.accountQueueStats(accountId, now);
  }

  deliveryActivity(accountId: AccountId | null, since: number): Promise<DeliveryActivity> {
    return this.reads.deliveryActivity(accountId, since);
  }

  endpointActivity(accountId: AccountId, since: number): Promise<EndpointActivity[]> {
    return this.reads.endpointActivity(accountId, since);
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
      const inserted = await this.connections.query(
        `INSERT INTO oauth_tokens (${TOKEN_COLUMNS}) VALUES (${placeholders(TOKEN_PARAMS)}) ON CONFLICT (endpoint_id) DO NOTHING`,
        values,
      );
      if ((inserted.rowCount ?? 0) > 0) return true;
    }
    // Compare-and-set on the generation: a writer that lost the race changes nothing.
    const updated = await this.connections.query(
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
    const result = await this.connections.query(
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

  subscribeWork(listener: () => void): Promise<() => Promise<void>> {
    return this.connections.listen(this.channel, listener);
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
    await writeToken(this.connections, t);
  }

  async importCopy(copy: StoreCopy): Promise<void> {
    await this.transaction((client) => insertCopy(client, copy, this.description));
  }

  async insertOperationalEvent(e: OperationalEventRecord): Promise<void> {
    await operations.insertOperationalEvents(this.connections, [e]);
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

  async undispatchedOperationalEvents(limit: number): Promise<OperationalEventRecord[]> {
    return (
      await this.query(
        'SELECT * FROM operational_events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1',
        [limit],
      )
    ).map(toOperationalEvent);
  }

  async dispatchOperationalEvent(d: OperationalDispatch): Promise<boolean> {
    return this.transaction(async (client) => {
      if (!(await operations.markDispatched(client, d.id, d.at))) return false;
      if (d.event) {
        await this.ingestOne(client, {
          accountId: d.event.event.accountId,
          idempotency: null,
          events: [d.event],
          response: '',
        });
        if (d.event.deliveries.some((x) => x.status === 'pending')) {
          await client.query('SELECT pg_notify($1, $2)', [this.channel, '']);
        }
      }
      if (d.email) await operations.gatherAlertEmail(client, d.email);
      return true;
    });
  }

  claimAlertEmails(now: number, leaseUntil: number, limit: number): Promise<AlertEmailRecord[]> {
    return operations.claimAlertEmails(this.connections, now, leaseUntil, limit);
  }

  async finishAlertEmail(
    email: Pick<AlertEmailRecord, 'seq' | 'count'>,
    outcome: AlertEmailOutcome,
  ): Promise<void> {
    await this.transaction((client) => operations.finishAlertEmail(client, email, outcome));
  }

  purge(step: PurgeStep): Promise<PurgeResult> {
    return this.transaction((client) => operations.purge(client, step));
  }
}
