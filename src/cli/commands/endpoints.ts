// `herald endpoints list|show`.

import { apiClient, CLIENT_HELP, CLIENT_OPTIONS } from '../api-client.js';
import { parse, type Command } from '../command.js';
import { showCommand } from './show.js';
import { table } from '../format.js';

type EndpointJson = Record<string, unknown> & { auth: { type: string; status: string } };

export const endpointsList: Command = {
  name: 'endpoints list',
  summary: "List the account's endpoints with their state and auth health",
  help: `Usage: herald endpoints list [--json]\n\n${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, CLIENT_OPTIONS);
    const page = (await apiClient(values, io).request('GET', '/v1/endpoints')) as {
      data: EndpointJson[];
    };
    if (values.json) {
      io.out(JSON.stringify(page));
      return 0;
    }
    const rows = page.data.map((e) => ({
      ...e,
      auth: e.auth.type,
      'auth status': e.auth.status,
      events: (e.events as string[]).length,
    }));
    io.out(table(rows, ['id', 'origin', 'url', 'auth', 'auth status', 'state', 'events']));
    return 0;
  },
};

export const endpointsShow = showCommand(
  'endpoints show',
  'Show one endpoint',
  'ENDPOINT_ID',
  'ep_',
  '/v1/endpoints',
);
