// `herald deliveries list|show|retry` and `herald recover`.

import { apiClient, CLIENT_HELP, CLIENT_OPTIONS } from '../api-client.js';
import { parse, UsageError, type Command } from '../command.js';
import { table } from '../format.js';
import { showCommand } from './show.js';

export const deliveriesList: Command = {
  name: 'deliveries list',
  summary: 'List deliveries, newest first',
  help: `Usage: herald deliveries list [--status S] [--endpoint ID] [--event ID|NAME] [--since ISO] [--limit N] [--cursor C]

  --status S       pending, delivering, succeeded, failed or held
  --endpoint ID    only this endpoint (ep_...)
  --event X        an event id (evt_...) or an event name
  --since ISO      created at or after this time
  --limit N        page size (default 50, at most 500)
  --cursor C       the "next" value printed by the previous page
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CLIENT_OPTIONS,
      status: { type: 'string' },
      endpoint: { type: 'string' },
      event: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    });
    const query = new URLSearchParams();
    for (const k of ['status', 'endpoint', 'event', 'since', 'limit', 'cursor'] as const) {
      if (values[k] !== undefined) query.set(k, values[k]);
    }
    const page = (await apiClient(values, io).request('GET', `/v1/deliveries?${query}`)) as {
      data: Record<string, unknown>[];
      next: string | null;
    };
    if (values.json) {
      io.out(JSON.stringify(page));
      return 0;
    }
    io.out(
      table(page.data, [
        'id',
        'eventName',
        'endpointId',
        'status',
        'attemptCount',
        'lastStatusCode',
        'nextAttemptAt',
        'createdAt',
      ]),
    );
    if (page.next) io.out(`more: --cursor ${page.next}`);
    return 0;
  },
};

export const deliveriesShow = showCommand(
  'deliveries show',
  'Show one delivery with its attempts',
  'DELIVERY_ID',
  'dlv_',
  '/v1/deliveries',
);

export const deliveriesRetry: Command = {
  name: 'deliveries retry',
  summary: 'Retry a delivery now',
  help: `Usage: herald deliveries retry DELIVERY_ID\n\n${CLIENT_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
    if (!positionals[0]) throw new UsageError('Give the delivery id (dlv_...)');
    const delivery = (await apiClient(values, io).request(
      'POST',
      `/v1/deliveries/${encodeURIComponent(positionals[0])}/retry`,
    )) as {
      id: string;
      status: string;
    };
    io.out(
      values.json
        ? JSON.stringify(delivery)
        : `${delivery.id} is ${delivery.status}; it will be tried now`,
    );
    return 0;
  },
};

export const recover: Command = {
  name: 'recover',
  summary: "Redeliver an endpoint's failed and held deliveries created in a time range",
  help: `Usage: herald recover ENDPOINT_ID --since ISO [--until ISO]\n\n${CLIENT_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { ...CLIENT_OPTIONS, since: { type: 'string' }, until: { type: 'string' } },
      true,
    );
    if (!positionals[0]) throw new UsageError('Give the endpoint id (ep_...)');
    if (!values.since) throw new UsageError('--since is required');
    const result = (await apiClient(values, io).request(
      'POST',
      `/v1/endpoints/${encodeURIComponent(positionals[0])}/recover`,
      {
        since: values.since,
        ...(values.until ? { until: values.until } : {}),
      },
    )) as { recovered: number };
    io.out(
      values.json ? JSON.stringify(result) : `${result.recovered} deliveries will be redelivered`,
    );
    return 0;
  },
};
