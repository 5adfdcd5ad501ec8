// `herald operational-events list`: what the account was told out of band (deliveries exhausted,
// endpoints disabled, credentials dead), newest first.

import type { OperationalEventJson, Presented } from '../../services/representations.js';
import { CLIENT_HELP, CLIENT_OPTIONS, queryOf } from '../api-client.js';
import { parse, type Command } from '../command.js';
import { relative, table } from '../format.js';
import { LIST_OPTIONS, PAGE_HELP, printPage } from '../listing.js';

type OperationalEvent = Presented<typeof OperationalEventJson>;

/** The data of an operational event in one line: `reason: ...  url: ...`. */
function summary(data: Readonly<Record<string, unknown>>): string {
  return Object.entries(data)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('  ');
}

export const operationalEventsList: Command = {
  name: 'operational-events list',
  summary: 'List what the account was told: exhausted deliveries, disabled endpoints',
  help: `Usage: herald operational-events list [--limit N] [--cursor C] [--json]

${PAGE_HELP}
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, {
      ...CLIENT_OPTIONS,
      limit: LIST_OPTIONS.limit,
      cursor: LIST_OPTIONS.cursor,
    });
    const query = queryOf(values, ['limit', 'cursor']);
    return printPage<OperationalEvent>(
      io,
      values,
      `/v1/operational-events${query}`,
      (rows, output) =>
        table(
          rows,
          [
            { label: 'Type', value: (e) => e.type },
            { label: 'Endpoint', value: (e) => e.endpointId },
            { label: 'When', value: (e) => relative(e.createdAt, output.now) },
            { label: 'Details', value: (e) => summary(e.data), shrinkTo: 12 },
          ],
          output,
        ),
    );
  },
};
