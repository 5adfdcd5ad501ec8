// What the list commands share: paging and time flags, and printing one page (the API's JSON
// with --json; otherwise a table, and how to ask for the next page).

import { apiClient, CLIENT_OPTIONS } from './api-client.js';
import type { Io } from './command.js';
import { outputOf, type Output } from './format.js';

export const LIST_OPTIONS = {
  ...CLIENT_OPTIONS,
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
} as const;

export const PAGE_HELP = `  --limit N        page size (default 50, at most 500)
  --cursor C       the "next" value printed by the previous page`;

export async function printPage<T>(
  io: Io,
  values: {
    url?: string | undefined;
    'api-key'?: string | undefined;
    'data-dir'?: string | undefined;
    json?: boolean | undefined;
  },
  path: string,
  render: (rows: readonly T[], output: Output) => string,
): Promise<number> {
  const page = (await apiClient(values, io).request('GET', path)) as {
    data: T[];
    next: string | null;
  };
  if (values.json) {
    io.out(JSON.stringify(page));
    return 0;
  }
  io.out(render(page.data, outputOf(io)));
  if (page.next) io.out(`more: --cursor ${page.next}`);
  return 0;
}
