// `herald serve`: the server (API, workers) with the settings of docs/configuration.md.

import { setFlagsFromString } from 'node:v8';
import { loadConfig, removedSettingsIn, type Flags } from '../../config/load.js';
import { SETTINGS } from '../../config/settings.js';
import { startHerald, type RunningHerald } from '../../main.js';
import { createLogger } from '../../observability/logger.js';
import { installSafetyNet } from '../../observability/safety-net.js';
import { parse, type Command } from '../command.js';

const options = Object.fromEntries(
  SETTINGS.filter((s) => s.flag).map((s) => [
    s.flag!,
    { type: s.boolean ? ('boolean' as const) : ('string' as const) },
  ]),
);

function settingsHelp(): string {
  return SETTINGS.map((s) => {
    const flag = s.flag ? `--${s.flag}${s.boolean ? '' : ' VALUE'}` : '';
    const dflt = s.defaultText ?? JSON.stringify(s.default);
    return `  ${flag.padEnd(28)} ${s.env.padEnd(30)} ${s.doc} (default: ${dflt})`;
  }).join('\n');
}

export const serve: Command = {
  name: 'serve',
  summary: 'Run the Herald server (API, delivery workers, /metrics, /healthz)',
  get help() {
    return `Usage: herald serve [flags]

Runs Herald. Settings come from defaults, then HERALD_* environment variables, then flags.
SIGTERM or SIGINT drains in-flight deliveries (bounded by HERALD_SHUTDOWN_TIMEOUT) and exits.
A store outage never ends the process: publishes are answered 503 until the store is back.

Flag / environment / meaning:
${settingsHelp()}

Example:
  HERALD_API_KEY=change-me-0123456789 herald serve --port 8080 --data-dir ./.herald`;
  },
  async run(args, io) {
    const { values } = parse(args, options);
    const config = loadConfig(io.env, values as Flags);
    limitHeapGrowth(config.heapGrowthPercent);
    const logger = createLogger(config.logLevel);
    // Said where people look at start, not only in the logs: a setting silently doing nothing
    // (an alert webhook that no longer fires) is worse than a loud line.
    for (const message of removedSettingsIn(io.env)) {
      io.err(`warning: ${message}`);
      logger.warn(message);
    }
    // Listened for before starting: a SIGTERM that arrives as soon as the server says where it
    // listens (a supervisor's quick restart) still drains it and removes its data dir files.
    let signalled: (signal: string) => void = () => {};
    const stopping = new Promise<string>((resolve) => (signalled = resolve));
    const onTerm = () => signalled('SIGTERM');
    const onInt = () => signalled('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    let herald: RunningHerald | null = null;
    installSafetyNet({
      logger,
      stop: async () => herald?.stop(),
      stopTimeoutMs: config.shutdownTimeoutMs + 5000,
      exit: (code) => process.exit(code),
    });
    try {
      herald = await startHerald(config, { print: io.out, logger });
      io.err(`${await stopping} received: draining in-flight deliveries…`);
      await herald.stop();
      return 0;
    } finally {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
    }
  },
};

/**
 * Sets V8's heap growing factor for this process (the store thread included). V8 reads it at
 * every full collection, so setting it at start-up is enough. Only `serve` sets it: a process
 * that embeds Herald keeps its own, and so does one started with `node --heap-growing-percent`.
 */
function limitHeapGrowth(percent: number): void {
  if (percent === 0) return;
  if (process.execArgv.some((flag) => /^--heap[-_]growing[-_]percent\b/.test(flag))) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
