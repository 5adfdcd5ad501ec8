// `herald events publish|list|show`: publish one event or a batch from a file; find events.

import { readFileSync } from 'node:fs';
import type {
  EventJson,
  EventWithDeliveriesJson,
  Presented,
} from '../../services/representations.js';
import { apiClient, CLIENT_HELP, CLIENT_OPTIONS, queryOf } from '../api-client.js';
import { parse, UsageError, type Command } from '../command.js';
import { LIST_OPTIONS, PAGE_HELP, printPage } from '../listing.js';
import { details, outputOf, relative, table, when } from '../format.js';
import { deliveriesTable } from './deliveries.js';

type Event = Presented<typeof EventJson>;
type EventWithDeliveries = Presented<typeof EventWithDeliveriesJson>;

export const eventsPublish: Command = {
  name: 'events publish',
  summary: 'Publish an event (or a JSON file of events) to a running Herald',
  help: `Usage: herald events publish --name NAME --package-id ID [--session-user U] [--message M] [--document-id D]
       herald events publish --file events.json      (a JSON object or an array of up to 1,000)

Options:
  --name NAME            event name, e.g. PACKAGE_COMPLETE
  --package-id ID        the transaction (package) id
  --session-user U       sender or signer id
  --message M            decline reason, bounce type, attachment name
  --document-id D        for document events
  --file PATH            publish the JSON in this file instead ("-" reads stdin)
  --idempotency-key K    publishing again with the same key does nothing new
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CLIENT_OPTIONS,
      name: { type: 'string' },
      'package-id': { type: 'string' },
      'session-user': { type: 'string' },
      message: { type: 'string' },
      'document-id': { type: 'string' },
      file: { type: 'string' },
      'idempotency-key': { type: 'string' },
    });
    let body: string;
    if (values.file && (values.name || values['package-id'])) {
      throw new UsageError('Give --file, or --name and --package-id, not both');
    }
    if (values.file) {
      try {
        body = readFileSync(values.file === '-' ? 0 : values.file, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code;
        throw new UsageError(`Cannot read --file ${values.file}: ${why ?? String(error)}`);
      }
    } else {
      if (!values.name || !values['package-id'])
        throw new UsageError('--name and --package-id are required (or --file)');
      body = JSON.stringify({
        name: values.name,
        packageId: values['package-id'],
        sessionUser: values['session-user'] ?? null,
        message: values.message ?? null,
        documentId: values['document-id'] ?? null,
      });
    }
    const headers: Record<string, string> = values['idempotency-key']
      ? { 'idempotency-key': values['idempotency-key'] }
      : {};
    const result = (await apiClient(values, io).request('POST', '/v1/events', body, headers)) as {
      id?: string;
      ids?: string[];
    };
    if (values.json) io.out(JSON.stringify(result));
    else
      io.out(result.id ? `published ${result.id}` : `published ${result.ids?.length ?? 0} events`);
    return 0;
  },
};

export const eventsList: Command = {
  name: 'events list',
  summary: 'List published events, newest first, by package id, name and time',
  help: `Usage: herald events list [--package ID] [--name NAME] [--since ISO] [--until ISO] [--limit N] [--cursor C]

  --package ID     only events with this package id (transaction)
  --name NAME      only events with this name, e.g. PACKAGE_COMPLETE
  --since ISO      received at or after this time
  --until ISO      received before this time
${PAGE_HELP}
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...LIST_OPTIONS,
      package: { type: 'string' },
      name: { type: 'string' },
    });
    const query = queryOf({ ...values, packageId: values.package }, [
      'packageId',
      'name',
      'since',
      'until',
      'limit',
      'cursor',
    ]);
    return printPage<Event>(io, values, `/v1/events${query}`, (rows, output) =>
      table(
        rows,
        [
          { label: 'ID', value: (e) => e.id },
          { label: 'Event', value: (e) => e.name, shrinkTo: 12 },
          { label: 'Package', value: (e) => e.packageId, shrinkTo: 12 },
          { label: 'Received', value: (e) => relative(e.receivedAt, output.now) },
        ],
        output,
      ),
    );
  },
};

export const eventsShow: Command = {
  name: 'events show',
  summary: 'Show one event: its payload and its deliveries',
  help: `Usage: herald events show EVENT_ID [--json]\n\n${CLIENT_HELP}`,
  async run(args, io) {
    const { values, positionals } = parse(args, CLIENT_OPTIONS, true);
    if (!positionals[0]) throw new UsageError('Give the event id (evt_...)');
    const e = (await apiClient(values, io).request(
      'GET',
      `/v1/events/${encodeURIComponent(positionals[0])}`,
    )) as EventWithDeliveries;
    if (values.json) {
      io.out(JSON.stringify(e));
      return 0;
    }
    const output = outputOf(io);
    io.out(
      details(
        `Event ${e.id}`,
        [
          ['Name', e.name],
          ['Package', e.packageId],
          ['Received', when(e.receivedAt, output.now)],
          ['Payload', JSON.stringify(e.payload, null, 2)],
        ],
        output,
      ),
    );
    io.out('');
    io.out(
      e.deliveries.length === 0
        ? 'No deliveries: no enabled endpoint subscribed to it when it arrived.'
        : deliveriesTable(e.deliveries, output),
    );
    return 0;
  },
};
