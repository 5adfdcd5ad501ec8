// Composition root: config -> store -> services -> roles (api, worker). The only module that
// picks a store adapter and wires concrete implementations together.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { createApp } from './api/app.js';
import { createConsole } from './console/app.js';
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
import { NO_TRACING, startTracing, type Tracer } from './observability/tracing.js';
import { Worker } from './queue/worker.js';
import { AccountService } from './services/accounts.js';
import { DeliveryService } from './services/deliveries.js';
import { EndpointHealth } from './services/endpoint-health.js';
import { EndpointRepository } from './services/endpoint-repo.js';
import { EndpointResidue } from './services/endpoint-residue.js';
import { EndpointTester } from './services/endpoint-tester.js';
import { EndpointTokens } from './services/endpoint-tokens.js';
import { EndpointService } from './services/endpoints.js';
import type { Services } from './services/index.js';
import { IngestService } from './services/ingest.js';
import { AlertMailer } from './services/alert-mailer.js';
import { OperationalEvents } from './services/operational-events.js';
import { OperationsRelay } from './services/operations-relay.js';
import { OverviewService } from './services/overview.js';
import { Retention } from './services/retention.js';
import { SecretBox, generateMasterKey } from './services/secret-box.js';
import { WebConnect } from './services/web-connect.js';
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
  /** Printed lines for people (addresses, the store); defaults to stdout. */
  readonly print?: (line: string) => void;
  /**
   * Where the API key generated on first start is shown, or null for nowhere: by default
   * stderr, and only when it is a terminal (stdout, and a stderr that is no terminal, end in
   * logs). The key is in <data dir>/api-key either way.
   */
  readonly showKey?: ((lines: readonly string[]) => void) | null;
}

export interface RunningHerald {
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  readonly services: Services;
  /** The API key generated on first start, if one was. */
  readonly generatedApiKey: string | null;
  /** What this process keeps per endpoint, dropped when an endpoint is deleted. */
  readonly residue: EndpointResidue;
  stop(): Promise<void>;
}

const MASTER_KEY_CHECK = 'master_key_check';
const MASTER_KEY_CHECK_TEXT = 'herald master key check';

/** Opens the configured store: PostgreSQL for a postgres:// URL, otherwise an SQLite file. */
export function openStore(config: Config, logger?: Logger): Store {
  const target = config.databaseUrl;
  if (target && /^postgres(ql)?:\/\//i.test(target)) {
    return new PostgresStore({
      connectionString: target,
      poolSize: config.databasePoolSize,
      // Each lost connection once; the calls it failed are answered or retried by their callers.
      onConnectionError: (error, where) =>
        logger?.warn({ err: error, where }, 'lost a connection to PostgreSQL'),
    });
  }
  const path = target ?? join(config.dataDir, 'herald.db');
  if (path !== ':memory:') mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  const options = { path, synchronous: config.sqliteSynchronous };
  return config.sqliteThread === 'on' ? new ThreadedSqliteStore(options) : new SqliteStore(options);
}

/** Files Herald keeps in the data dir besides the store's own (store/sqlite/private-files.ts). */
const DATA_DIR_FILES = ['api-key', 'master.key', 'herald.pid'];

function writePrivate(path: string, content: string): void {
  mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * An existing data dir is its user's alone (0700), and the files of an earlier run 0600 again
 * (someone may have copied or loosened them). A directory Herald does not own is left as it is.
 */
function keepDataDirPrivate(dir: string, logger: Logger): void {
  if (!existsSync(dir)) return;
  try {
    chmodSync(dir, 0o700);
    for (const name of DATA_DIR_FILES) {
      if (existsSync(join(dir, name))) chmodSync(join(dir, name), 0o600);
    }
  } catch (error) {
    logger.warn({ err: error, dataDir: dir }, 'could not make the data dir private (mode 0700)');
  }
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
    if (!existsSync(file)) writePrivate(file, `${generateMasterKey()}\n`);
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
  writePrivate(file, `${process.pid}\n`);
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

/** The alert mailer, when HERALD_SMTP_URL is set (Nodemailer is loaded only then). */
async function alertMailer(
  config: Config,
  store: Store,
  logger: Logger,
  metrics: Metrics,
  clock: () => number,
  random: () => number,
): Promise<{ mailer: AlertMailer; close: () => void } | null> {
  if (!config.smtpUrl) return null;
  if (!config.alertFrom) {
    throw new ConfigError(
      'HERALD_ALERT_FROM is required with HERALD_SMTP_URL: the sender of alert emails',
    );
  }
  const { smtpClient } = await import('./net/smtp.js');
  const smtp = smtpClient(config.smtpUrl, (error) =>
    logger.warn({ err: error }, 'the SMTP connection failed'),
  );
  const mailer = new AlertMailer({
    store,
    send: (message) => smtp.send(message),
    from: config.alertFrom,
    publicUrl: config.publicUrl,
    logger,
    metrics,
    clock,
    random,
  });
  return { mailer, close: () => smtp.close() };
}

export async function startHerald(
  config: Config,
  options: StartOptions = {},
): Promise<RunningHerald> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  keepDataDirPrivate(config.dataDir, logger);
  const store = openStore(config, logger);
  const residue = new EndpointResidue(store);
  let unlock = () => {};
  // What has been started, for shutDown: a failed start stops it too before the store closes,
  // so the process exits with the reason (a port in use, say) instead of living on.
  let startedOutbound: Outbound | null = null;
  let startedServer: Server | null = null;
  let worker: Worker | null = null;
  let tracer: Tracer = NO_TRACING;
  /** Background tasks (relay, mailer), stopped before the store closes. */
  const background: Array<{ stop(): Promise<void> | void }> = [];
  /**
   * Stops what has been started, in order: no new connections, deliveries given `graceMs` to
   * finish, then the connections, the outbound pool and the store; the data dir last.
   */
  const shutDown = async (graceMs: number): Promise<void> => {
    const server = startedServer;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : undefined;
    server?.closeIdleConnections();
    residue.stop();
    const left = worker ? await worker.stop(graceMs) : 0;
    if (left > 0)
      logger.warn({ left }, 'stopped with deliveries still in flight; they will be retried');
    server?.closeAllConnections();
    await closed;
    for (const task of background.splice(0).reverse()) await task.stop();
    await startedOutbound?.close();
    await store.close();
    // Last: the spans of everything above are sent before the process goes.
    await tracer
      .shutdown()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not send the last spans'));
    unlock();
  };
  try {
    unlock = lockDataDir(config, store);
    const migration = await store.migrate();
    if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'store migrated');
    const box = await openSecretBox(config, store);

    const metrics = new Metrics({ defaultMetrics: true });
    tracer = await startTracing(config.tracing, VERSION);
    if (tracer.on) {
      logger.info(
        { traces: config.tracing.tracesUrl, protocol: config.tracing.protocol },
        'sending traces (OpenTelemetry)',
      );
    }
    const policy = {
      allowPrivateNetwork: config.allowPrivateNetwork,
      allowedNetworks: config.allowedNetworks,
      allowPlainHttp: config.allowPlainHttp,
    };
    const outbound = createOutbound({ policy });
    startedOutbound = outbound;
    const signal = new WorkSignal();
    const mail = await alertMailer(config, store, logger, metrics, clock, random);
    if (mail) background.push({ stop: mail.close }, mail.mailer);
    const relay = new OperationsRelay({
      store,
      logger,
      metrics,
      clock,
      signal,
      email: mail !== null,
      onEmail: () => mail?.mailer.kick(),
    });
    background.push(relay);
    const ops = new OperationalEvents(store, logger, clock, () => relay.kick());
    const repo = new EndpointRepository(store, box, clock);
    const health = new EndpointHealth(repo, ops, clock, config.disableAfterMs, store);
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
      tracer,
      onPersistFailed: (endpoint, error) =>
        void ops.raise(
          'oauth.persist_failed',
          endpoint.accountId,
          { endpointId: endpoint.id },
          { error: error instanceof Error ? error.message : String(error) },
        ),
    });
    // Deleted endpoints leave nothing behind: at once here, and in this process too when
    // another one deleted them (the sweep asks the store, on the lease recovery's beat).
    residue.add('tokens', tokens);
    residue.add('metrics', {
      endpointsHeld: () => metrics.endpointsHeld(),
      forget: (id) => metrics.forgetEndpoint(id),
    });
    repo.onDelete((id) => residue.forget(id));
    residue.start(Math.max(1000, config.leaseMs / 2), (error) =>
      logger.error({ err: error }, 'could not look for deleted endpoints'),
    );
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
      tracer,
    });
    const accounts = new AccountService(store, clock, config.adminKey);
    const { generatedKey } = await accounts.bootstrap(config.apiKey);
    if (generatedKey) writePrivate(join(config.dataDir, 'api-key'), `${generatedKey}\n`);

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
    const guard = (url: string) => checkDestination(url, policy);
    const endpoints = new EndpointService(repo, clock, guard, ops, signal, store);
    const services: Services = {
      accounts,
      endpoints,
      ingest: new IngestService(store, repo, clock, signal, metrics, tracer),
      deliveries: new DeliveryService(store, clock, signal),
      tester: new EndpointTester(
        repo,
        (endpoint, eventId, payload) => dispatcher.probe(endpoint, eventId, payload),
        clock,
      ),
      tokens: new EndpointTokens(repo, tokens, health, outbound.fetch, store),
      operations: ops,
      overview: new OverviewService(store, clock),
      connect: new WebConnect(endpoints, guard, outbound.fetch),
      metrics,
      sampler,
      health: () => ({ ready }),
      storeCheck: () => store.ping(),
    };

    const app = createApp({
      services,
      logger,
      version: VERSION,
      api: config.role !== 'worker',
      bodyTimeoutMs: config.bodyTimeoutMs,
      metricsToken: config.metricsToken,
      console:
        config.role === 'worker'
          ? undefined
          : createConsole({
              services,
              clock,
              box: box.derive('herald console cookies'),
              sessionMs: config.consoleSessionMs,
              publicUrl: config.publicUrl,
              logger,
              version: VERSION,
            }),
      tracer,
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
      residue.add('endpoint cache', {
        endpointsHeld: () => cache.endpointsHeld(),
        forget: (id) => cache.invalidate(id),
      });
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
        onRaised: () => relay.kick(),
      });
      residue.add('worker', worker);
      await worker.start();
    }
    // After the worker: its first claims are not queued behind the relay's and mailer's reads.
    relay.start();
    mail?.mailer.start();
    if (config.role !== 'api' && config.retentionMs !== null) {
      const retention = new Retention({
        store,
        retentionMs: config.retentionMs,
        logger,
        metrics,
        clock,
      });
      background.push(retention);
      retention.start();
    }
    ready = true;
    const url = publicUrlOf({ ...config, port });
    print(
      `Herald ${VERSION} listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port} (role ${config.role})`,
    );
    print(`Store: ${store.description}`);
    if (config.role !== 'worker') {
      print(
        `API: ${url}/v1  ·  OneSpan-compatible: ${url}/api/callback  ·  OpenAPI: ${url}/openapi.json`,
      );
      print(`Console: ${url}/console/`);
    }
    if (generatedKey) {
      const file = join(config.dataDir, 'api-key');
      const showKey =
        options.showKey === undefined
          ? process.stderr.isTTY
            ? (lines: readonly string[]) => process.stderr.write(`${lines.join('\n')}\n`)
            : null
          : options.showKey;
      if (showKey) {
        showKey([
          `API key of the default account (shown once; also written to ${file}):`,
          `  ${generatedKey}`,
        ]);
      } else {
        print(`API key of the default account written to ${file} (shown only on a terminal)`);
      }
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
    return { url, port, store, services, generatedApiKey: generatedKey, residue, stop };
  } catch (error) {
    await shutDown(0);
    throw error;
  }
}
