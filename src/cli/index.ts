// `herald` — the command line. One file per command under commands/.

import { ConfigError, HeraldError } from '../errors.js';
import { VERSION } from '../version.js';
import { ApiError } from './api-client.js';
import { UsageError, type Command, type Io } from './command.js';
import { connectSalesforce } from './commands/connect.js';
import { copyStoreCommand } from './commands/copy-store.js';
import { demo } from './commands/demo.js';
import { deliveriesList, deliveriesRetry, deliveriesShow, recover } from './commands/deliveries.js';
import {
  endpointsCreate,
  endpointsDelete,
  endpointsDisable,
  endpointsEnable,
  endpointsList,
  endpointsShow,
  endpointsUpdate,
} from './commands/endpoints.js';
import { eventsList, eventsPublish, eventsShow } from './commands/events.js';
import { listen } from './commands/listen.js';
import { migrate } from './commands/migrate.js';
import { operationalEventsList } from './commands/operational-events.js';
import { sandbox } from './commands/sandbox.js';
import { serve } from './commands/serve.js';
import { tokenIntrospect, tokenRefresh, tokenRevoke, tokenTest } from './commands/token.js';

export const COMMANDS: readonly Command[] = [
  serve,
  migrate,
  copyStoreCommand,
  eventsPublish,
  eventsList,
  eventsShow,
  endpointsList,
  endpointsShow,
  endpointsCreate,
  endpointsUpdate,
  endpointsEnable,
  endpointsDisable,
  endpointsDelete,
  deliveriesList,
  deliveriesShow,
  deliveriesRetry,
  recover,
  operationalEventsList,
  connectSalesforce,
  tokenTest,
  tokenRefresh,
  tokenRevoke,
  tokenIntrospect,
  listen,
  sandbox,
  demo,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Herald ${VERSION} — durable callback event notifications (OneSpan-compatible, OAuth 2.0 for Salesforce)

Usage: herald <command> [options]      herald <command> --help

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}`;
}

/** Finds the longest command name that prefixes the arguments. */
function resolve(args: string[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = args.slice(0, words).join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: args.slice(words) };
  }
  return undefined;
}

export async function main(args: string[], io: Io): Promise<number> {
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    io.out(usage());
    return 0;
  }
  if (args[0] === '--version' || args[0] === '-v') {
    io.out(VERSION);
    return 0;
  }
  const found = resolve(args);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${args[0]} `));
    if (group.length > 0 && (args.length === 1 || args[1] === '--help' || args[1] === '-h')) {
      const width = Math.max(...group.map((c) => c.name.length));
      const list = group.map((c) => `  herald ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
      if (args.length > 1) {
        io.out(list);
        return 0;
      }
      io.err(`herald ${args[0]} needs a subcommand:\n${list}`);
      return 2;
    }
    io.err(`Unknown command: ${args.slice(0, 2).join(' ')}\n\n${usage()}`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`herald ${command.name}: ${error.message}\nSee: herald ${command.name} --help`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof HeraldError || error instanceof ApiError) {
      io.err(`herald ${command.name}: ${error.message}`);
      return 1;
    }
    io.err(`herald ${command.name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
