// `herald events publish`: publish one event, or a batch from a file.

import { readFileSync } from 'node:fs';
import { apiClient, CLIENT_HELP, CLIENT_OPTIONS } from '../api-client.js';
import { parse, UsageError, type Command } from '../command.js';

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
