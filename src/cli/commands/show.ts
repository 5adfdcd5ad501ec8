// `herald <resource> show ID`: one resource as JSON.

import { apiClient, CLIENT_HELP, CLIENT_OPTIONS } from '../api-client.js';
import { parse, UsageError, type Command } from '../command.js';

export function showCommand(
  name: string,
  summary: string,
  argument: string,
  prefix: string,
  path: string,
): Command {
  return {
    name,
    summary,
    help: `Usage: herald ${name} ${argument} [--json]\n\n${CLIENT_HELP}`,
    async run(args, io) {
      const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
      const id = positionals[0];
      if (!id)
        throw new UsageError(`Give the ${argument.toLowerCase().replace('_', ' ')} (${prefix}...)`);
      const resource = await apiClient(values, io).request(
        'GET',
        `${path}/${encodeURIComponent(id)}`,
      );
      io.out(JSON.stringify(resource, null, values.json ? undefined : 2));
      return 0;
    },
  };
}
