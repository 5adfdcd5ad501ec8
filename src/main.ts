// Composition root: config -> store -> services -> roles (api, worker). It only composes: each
// step is a module of src/app/ (the data dir, the store adapter, the master key, the notifiers,
// the service graph, the roles, the banner, the shutdown order), called here in start order.
// The CLI (cli/commands/serve.ts, demo.ts) and the tests start Herald through startHerald.

import { publicUrlOf } from './config/load.js';
import type { Config } from './config/settings.js';
import { createOutbound } from './net/outbound.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { startTracing } from './observability/tracing.js';
import { WorkSignal } from './queue/work-signal.js';
import { Handover } from './queue/handover.js';
import { EndpointResidue } from './services/endpoint-residue.js';
import type { Services } from './services/index.js';
import type { Store } from './store/port.js';
import { VERSION } from './version.js';
import { printBanner } from './app/banner.js';
import {
  announceUrl,
  apiKeyFile,
  holdsDataDir,
  keepDataDirPrivate,
  lockDataDir,
  writePrivate,
} from './app/data-dir.js';
import { Lifecycle } from './app/lifecycle.js';
import { openSecretBox } from './app/master-key.js';
import { buildNotifiers } from './app/notifiers.js';
import { delivers, serveHttp, servesApi, startRetention, startWorker } from './app/roles.js';
import { buildServices } from './app/services.js';
import { openStore } from './app/store.js';

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
  const lifecycle = new Lifecycle(store, residue, logger);
  let ready = false;
  try {
    // The store, this process's hold on it, and the key to its secrets.
    lifecycle.addRelease(lockDataDir(config, store));
    const migration = await store.migrate();
    if (migration.applied.length > 0) logger.info({ applied: migration.applied }, 'store migrated');
    const box = await openSecretBox(config, store);

    // What watches, and what goes out.
    const metrics = new Metrics({ defaultMetrics: true });
    const tracer = await startTracing(config.tracing, VERSION);
    lifecycle.tracer = tracer;
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
    lifecycle.outbound = outbound;

    // The notifiers, then the services that raise what they send.
    const signal = new WorkSignal();
    const handover = new Handover();
    const common = { config, store, logger, metrics, clock, random, signal, handover };
    const notifiers = await buildNotifiers(common, lifecycle);
    const { services, repo, dispatcher, owner } = buildServices({
      ...common,
      box,
      tracer,
      outbound,
      policy,
      ops: notifiers.ops,
      residue,
      ready: () => ready,
    });
    const { generatedKey } = await services.accounts.bootstrap(config.apiKey);
    if (generatedKey) writePrivate(apiKeyFile(config.dataDir), `${generatedKey}\n`);

    // The roles. Listening before the worker starts: a start that fails on its port has sent
    // nothing yet.
    const { server, port } = await serveHttp({ config, services, box, logger, tracer, clock });
    lifecycle.server = server;
    // Only a process that serves the API is worth finding.
    if (holdsDataDir(config, store) && servesApi(config)) {
      lifecycle.addRelease(announceUrl(config.dataDir, config.host, port));
    }
    if (delivers(config)) {
      await startWorker({
        ...common,
        repo,
        dispatcher,
        residue,
        owner,
        onRaised: () => notifiers.relay.kick(),
        lifecycle,
      });
    }
    // After the worker: its first claims are not queued behind the relay's and mailer's reads.
    notifiers.start();
    if (delivers(config)) {
      const retention = startRetention(common);
      if (retention) lifecycle.addBackground(retention);
    }

    ready = true;
    const url = publicUrlOf({ ...config, port });
    printBanner(config, store, { port, url, generatedKey }, { print, showKey: options.showKey });
    logger.info({ port, role: config.role, store: store.description }, 'herald started');

    let stopping: Promise<void> | null = null;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        ready = false;
        await lifecycle.shutDown(config.shutdownTimeoutMs);
        logger.info('herald stopped');
      })();
      return stopping;
    };
    return { url, port, store, services, generatedApiKey: generatedKey, residue, stop };
  } catch (error) {
    await lifecycle.shutDown(0);
    throw error;
  }
}
