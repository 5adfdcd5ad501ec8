// Composition root: config -> store -> services -> roles (api, worker). The only module that
// picks a store adapter and wires concrete implementations together.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { createApp } from './api/app.js';
import { listen } from './api/server.js';
import { publicUrlOf } from './config/load.js';
import type { Config } from './config/settings.js';
import { Credentials } from './delivery/credentials.js';
import { TokenManager } from './oauth/token-manager.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { EndpointCache } from './delivery/endpoint-cache.js';
import { ConfigError } from './errors.js';
import { checkDestination } from './net/guard.js';
import { createOutbound, type Outbound } from './net/outbound.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics, type QueueSampler } from './observability/metrics.js';
import { Worker } from './queue/worker.js';
import { AccountService } from './services/accounts.js';
import { DeliveryService } from './services/deliveries.js';
import { EndpointHealth } from './services/endpoint-health.js';
import { EndpointRepository } from './services/endpoint-repo.js';
import { EndpointTester } from './services/endpoint-tester.js';
import { EndpointTokens } from './services/endpoint-tokens.js';
import { EndpointService } from './services/endpoints.js';
import type { Services } from './services/index.js';
import { IngestService } from './services/ingest.js';
import { OperationalEvents, type OperationsWebhook } from './services/operational-events.js';
import { SecretBox, generateMasterKey } from './services/secret-box.js';
import { WorkSignal } from './services/work-signal.js';
import type { Store } from './store/port.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { ThreadedSqliteStore } from './store/sqlite/threaded-store.js';
import { VERSION } from './version.js';

export interface StartOptions {
  readonly logger?: Logger;
  readonly clock?: () => number;
  readonly random?: () => number;
  /** Printed lines for people (addresses, the first API key); defaults to stdout. */
  readonly print?: (line: string) => void;
}

export interface RunningHerald {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly services: Services;
  /** The API key generated on first start, if one was. */
  readonly generatedApiKey: string | null;
  stop(): Promise<void>;
}

const MASTER_KEY_CHECK = 'master_key_check';
const MASTER_KEY_CHECK_TEXT = 'herald master key check';

/** Opens the configured store: PostgreSQL for a postgres:// URL, otherwise an SQLite file. */
export function openStore(config: Config): Store {
  const target = config.databaseUrl;
  if (target && /^postgres(ql)?:\/\//i.test(target)) {
    return new PostgresStore({ connectionString: target, poolSize: config.databasePoolSize });
  }
  const path = target ?? join(config.dataDir, 'herald.db');
  if (path !== ':memory:') mkdirSync(resolve(path, '..'), { recursive: true });
  const options = { path, synchronous: config.sqliteSynchronous };
  return config.sqliteThread === 'on' ? new ThreadedSqliteStore(options) : new SqliteStore(options);
}

function writePrivate(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The master key: HERALD_MASTER_KEY, or (embedded store only) a key file made on first start. */
async function openSecretBox(config: Config, store: Store): Promise<SecretBox> {
  let text = config.masterKey;
  if (!text) {
    if (store.capabilities.concurrentWorkers) {
      throw new ConfigError(
        'HERALD_MASTER_KEY is required with a shared store: every process must use the same key',
      );
    }
    const file = join(config.dataDir, 'master.key');
    if (!existsSync(file)) {
      mkdirSync(config.dataDir, { recursive: true });
      writePrivate(file, `${generateMasterKey()}\n`);
    }
    text = readFileSync(file, 'utf8').trim();
  }
  const box = SecretBox.fromText(text);
  const check = await store.initSetting(MASTER_KEY_CHECK, box.seal(MASTER_KEY_CHECK_TEXT));
  try {
    if (box.open(check) !== MASTER_KEY_CHECK_TEXT) throw new Error('mismatch');
  } catch {
    throw new ConfigError(
      'The master key does not match the one this store was created with: set HERALD_MASTER_KEY (or restore master.key) to the original key',
    );
  }
  return box;
}

/** Whether this process holds the data dir: the embedded store in a file is one process's. */
function holdsDataDir(config: Config, store: Store): boolean {
  return store.capabilities.singleProcess && config.databaseUrl !== ':memory:';
}

/** One embedded store, one process: refuse to start a second Herald on the same data dir. */
function lockDataDir(config: Config, store: Store): () => void {
  if (!holdsDataDir(config, store)) return () => {};
  const file = join(config.dataDir, 'herald.pid');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    let alive = false;
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (alive) {
      throw new ConfigError(
        `Another Herald (pid ${pid}) is using ${config.dataDir}; stop it first or use another --data-dir`,
      );
    }
  }
  writeFileSync(file, `${process.pid}\n`);
  return () => rmSync(file, { force: true });
}

/** The file in the data dir where a local CLI finds the running server (see announceUrl). */
export const URL_FILE = 'herald.url';

/**
 * Writes where this server answers into the data dir it holds (mode 0600), so that `herald
 * endpoints list` and the other client commands find it from the data dir alone, as they find
 * its generated API key. Returns the function that removes it again.
 */
function announceUrl(dataDir: string, host: string, port: number): () => void {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  const file = join(dataDir, URL_FILE);
  writePrivate(file, `${url}\n`);
  return () => rmSync(file, { force: true });
}

function operationsWebhook(
  config: Config,
  outbound: Outbound,
  logger: Logger,
): OperationsWebhook | null {
  const url = config.operationsWebhookUrl;
  if (!url) return null;
  return async (event) => {
    const result = await outbound.send({
      url,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': `Herald/${VERSION}`,
      },
      body: JSON.stringify(event),
      timeoutMs: 10_000,
    });
    if (!result.ok || result.status >= 300) {
      logger.warn(
        { op: event.type, result: result.ok ? result.status : result.failure },
        'operations webhook failed',
      );
    }
  };
}

export async function startHerald(
  config: Config,
  options: StartOptions = {},
): Promise<RunningHerald> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const store = openStore(config);
  let unlock = () => {};
  // What has been started, for shutDown: a failed start stops it too before the store closes,
  // so the process exits with the reason (a port in use, say) instead of living on.
  let startedOutbound: Outbound | null = null;
  let startedServer: Server | null = null;
  let worker: Worker | null = null;
  /**
   * Stops what has been started, in order: no new connections, deliveries given `graceMs` to
   * finish, then the connections, the outbound pool and the store; the data dir last.
   */
  const shutDown = async (graceMs: number): Promise<void> => {
    const server = startedServer;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : undefined;
    server?.closeIdleConnections();
    const left = worker ? await worker.stop(graceMs) : 0;
    if (left > 0)
      logger.warn({ left }, 'stopped with deliveries still in flight; they will be retried');
    server?.closeAllConnections();
    await closed;
    await startedOutbound?.close();
    await store.close();
    unlock();
  };
  try {
    unlock = lockDataDir(config, store);
    const migration = await store.migrate();
    if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'store migrated');
    const box = await openSecretBox(config, store);

    const metrics = new Metrics({ defaultMetrics: true });
    const policy = {
      allowPrivateNetwork: config.allowPrivateNetwork,
      allowedNetworks: config.allowedNetworks,
      allowPlainHttp: config.allowPlainHttp,
    };
    const outbound = createOutbound({ policy });
    startedOutbound = outbound;
    const signal = new WorkSignal();
    const ops = new OperationalEvents(
      store,
      logger,
      metrics,
      clock,
      operationsWebhook(config, outbound, logger),
    );
    const repo = new EndpointRepository(store, box, clock);
    const health = new EndpointHealth(repo, ops, clock, config.disableAfterMs);
    const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const tokens = new TokenManager({
      store,
      box,
      fetch: outbound.fetch,
      logger,
      metrics,
      clock,
      random,
      owner,
      onPersistFailed: (endpoint, error) =>
        void ops.raise(
          'oauth.persist_failed',
          endpoint.accountId,
          { endpointId: endpoint.id },
          { error: error instanceof Error ? error.message : String(error) },
        ),
    });
    const dispatcher = new Dispatcher({
      send: (request) => outbound.send(request),
      credentials: new Credentials(tokens),
      health,
      metrics,
      logger,
      clock,
      random,
      retrySchedule: config.retrySchedule,
      userAgent: `Herald/${VERSION}`,
    });
    const accounts = new AccountService(store, clock, config.adminKey);
    const { generatedKey } = await accounts.bootstrap(config.apiKey);
    if (generatedKey) {
      mkdirSync(config.dataDir, { recursive: true });
      writePrivate(join(config.dataDir, 'api-key'), `${generatedKey}\n`);
    }

    const sampler: QueueSampler = {
      async sample() {
        const now = clock();
        const q = await store.queueStats(now);
        return {
          ...q,
          oldestDueAgeSeconds:
            q.oldestDueAt === null ? 0 : Math.max(0, (now - q.oldestDueAt) / 1000),
          endpoints: await store.countEndpointsByState(),
        };
      },
    };
    let ready = false;
    const services: Services = {
      accounts,
      endpoints: new EndpointService(
        repo,
        clock,
        (url) => checkDestination(url, policy),
        ops,
        signal,
      ),
      ingest: new IngestService(store, repo, clock, signal, metrics),
      deliveries: new DeliveryService(store, clock, signal),
      tester: new EndpointTester(
        repo,
        (endpoint, eventId, payload) => dispatcher.probe(endpoint, eventId, payload),
        clock,
      ),
      tokens: new EndpointTokens(repo, tokens, health, outbound.fetch),
      operations: ops,
      metrics,
      sampler,
      health: () => ({ ready, role: config.role, store: store.description }),
    };

    const app = createApp({
      services,
      logger,
      version: VERSION,
      api: config.role !== 'worker',
      bodyTimeoutMs: config.bodyTimeoutMs,
    });
    // Listening before the worker starts: a start that fails on its port has sent nothing yet.
    const { server, port } = await listen(app, { port: config.port, host: config.host }, logger);
    startedServer = server;
    // Only a process that serves the API is worth finding.
    if (holdsDataDir(config, store) && config.role !== 'worker') {
      const forget = announceUrl(config.dataDir, config.host, port);
      const release = unlock;
      unlock = () => {
        forget();
        release();
      };
    }

    if (config.role !== 'api') {
      const recovered = await store.recoverLeases(clock(), store.capabilities.singleProcess);
      if (recovered > 0)
        logger.info({ recovered }, 'took back deliveries left in flight by a previous run');
      const cache = new EndpointCache((id) => repo.find(id));
      repo.onChange((_account, id) => cache.invalidate(id));
      worker = new Worker({
        store,
        dispatcher,
        endpoints: cache,
        signal,
        logger,
        clock,
        owner,
        concurrency: config.workerConcurrency,
        leaseMs: config.leaseMs,
        pollIntervalMs: config.pollIntervalMs,
      });
      await worker.start();
    }
    ready = true;
    const url = publicUrlOf({ ...config, port });
    print(
      `Herald ${VERSION} listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port} (role ${config.role})`,
    );
    print(`Store: ${store.description}`);
    if (config.role !== 'worker')
      print(
        `API: ${url}/v1  ·  OneSpan-compatible: ${url}/api/callback  ·  OpenAPI: ${url}/openapi.json`,
      );
    if (generatedKey) {
      print(
        `API key of the default account (shown once; also written to ${join(config.dataDir, 'api-key')}):`,
      );
      print(`  ${generatedKey}`);
    }
    logger.info({ port, role: config.role, store: store.description }, 'herald started');

    let stopping: Promise<void> | null = null;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        ready = false;
        await shutDown(config.shutdownTimeoutMs);
        logger.info('herald stopped');
      })();
      return stopping;
    };
    return { url, port, store, services, generatedApiKey: generatedKey, stop };
  } catch (error) {
    await shutDown(0);
    throw error;
  }
}
