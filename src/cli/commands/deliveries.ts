// `herald deliveries list|show|retry` and `herald recover`.

import type {
  AttemptJson,
  DeliveryJson,
  DeliveryWithAttemptsJson,
  Presented,
} from '../../services/representations.js';
import { apiClient, CLIENT_HELP, CLIENT_OPTIONS, queryOf } from '../api-client.js';
import { parse, UsageError, type Command } from '../command.js';
import { LIST_OPTIONS, PAGE_HELP, printPage } from '../listing.js';
import {
  details,
  outputOf,
  paint,
  relative,
  stateStyle,
  table,
  when,
  type Output,
} from '../format.js';

type Delivery = Presented<typeof DeliveryJson>;
type DeliveryWithAttempts = Presented<typeof DeliveryWithAttemptsJson>;
type Attempt = Presented<typeof AttemptJson>;

/**
 * The deliveries table: what a person scans for, the last error cut to fit 100 columns (the
 * endpoint and the times are in `deliveries show` and --json).
 */
export function deliveriesTable(rows: readonly Delivery[], output: Output): string {
  return table(
    rows,
    [
      { label: 'ID', value: (d) => d.id },
      { label: 'Event', value: (d) => d.eventName, shrinkTo: 14 },
      { label: 'Status', value: (d) => d.status, style: stateStyle },
      { label: 'Attempts', value: (d) => d.attemptCount, align: 'right' },
      { label: 'Next attempt', value: (d) => relative(d.nextAttemptAt, output.now) },
      {
        label: 'Last error',
        value: (d) => d.lastError ?? (d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : null),
        shrinkTo: 12,
      },
    ],
    output,
  );
}

export const deliveriesList: Command = {
  name: 'deliveries list',
  summary: 'List deliveries, newest first',
  help: `Usage: herald deliveries list [--status S] [--endpoint ID] [--event ID|NAME] [--package ID] [--since ISO] [--until ISO] [--limit N] [--cursor C]

  --status S       pending, delivering, succeeded, failed or held
  --endpoint ID    only this endpoint (ep_...)
  --event X        an event id (evt_...) or an event name
  --package ID     only deliveries of events with this package id
  --since ISO      created at or after this time
  --until ISO      created before this time
${PAGE_HELP}
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...LIST_OPTIONS,
      status: { type: 'string' },
      endpoint: { type: 'string' },
      event: { type: 'string' },
      package: { type: 'string' },
    });
    const query = queryOf({ ...values, packageId: values.package }, [
      'status',
      'endpoint',
      'event',
      'packageId',
      'since',
      'until',
      'limit',
      'cursor',
    ]);
    return printPage(io, values, `/v1/deliveries${query}`, deliveriesTable);
  },
};

export const deliveriesShow: Command = {
  name: 'deliveries show',
  summary: 'Show one delivery with its attempts',
  help: `Usage: herald deliveries show DELIVERY_ID [--json]\n\n${CLIENT_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
    if (!positionals[0]) throw new UsageError('Give the delivery id (dlv_...)');
    const d = (await apiClient(values, io).request(
      'GET',
      `/v1/deliveries/${encodeURIComponent(positionals[0])}`,
    )) as DeliveryWithAttempts;
    if (values.json) {
      io.out(JSON.stringify(d));
      return 0;
    }
    const output = outputOf(io);
    io.out(
      details(
        `Delivery ${d.id}`,
        [
          ['Status', paint(d.status, stateStyle(d.status), output)],
          ['Event', `${d.eventName} ${d.eventId}`],
          ['Endpoint', d.endpointId],
          ['Attempts', d.attemptCount],
          ['Next attempt', when(d.nextAttemptAt, output.now)],
          ['Last error', d.lastError],
          ['Created', when(d.createdAt, output.now)],
          ['Updated', when(d.updatedAt, output.now)],
        ],
        output,
      ),
    );
    if (d.attempts.length > 0) {
      io.out('');
      io.out(
        table<Attempt>(
          d.attempts,
          [
            { label: '#', value: (a) => a.number, align: 'right' },
            { label: 'Started', value: (a) => relative(a.startedAt, output.now) },
            { label: 'Took', value: (a) => `${Math.round(a.durationMs)} ms`, align: 'right' },
            { label: 'Status', value: (a) => a.statusCode, align: 'right' },
            { label: 'Outcome', value: (a) => a.outcome },
            { label: 'Trigger', value: (a) => a.trigger },
            { label: 'Error or answer', value: (a) => a.error ?? a.responseBody, shrinkTo: 16 },
          ],
          output,
        ),
      );
    }
    return 0;
  },
};

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
