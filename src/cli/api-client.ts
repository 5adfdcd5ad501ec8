// The CLI's client of a running Herald's HTTP API. The URL and key come from flags, then
// HERALD_URL / HERALD_API_KEY, then the data dir of a local server (the URL it writes there while
// it runs, its generated api-key), then the defaults (the port setting on 127.0.0.1).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADER_VALUE } from '../domain/endpoint.js';
import { URL_FILE } from '../app/data-dir.js';
import { UsageError, type Io } from './command.js';

export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The connection flags' help; `urlFlag` is --server-url where --url means something else. */
export function clientHelp(urlFlag = '--url'): string {
  const flag = (text: string) => `  ${text.padEnd(19)}`;
  return `Connection:
${flag(`${urlFlag} URL`)}Herald's address (env HERALD_URL; default: the address a server running
${' '.repeat(21)}on the data dir wrote there, else http://127.0.0.1:$HERALD_PORT or :8080)
${flag('--api-key KEY')}API key (env HERALD_API_KEY; default: the key in <data dir>/api-key)
${flag('--data-dir DIR')}a local server's data dir (env HERALD_DATA_DIR; default ./.herald)
${flag('--json')}print the API's JSON instead of a table`;
}

export const CLIENT_HELP = clientHelp();

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const detail =
      typeof body === 'object' && body !== null && 'detail' in body
        ? String((body as { detail: unknown }).detail)
        : JSON.stringify(body);
    super(`HTTP ${status}: ${detail}`);
  }
}

export interface ApiClient {
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<unknown>;
}

export function apiClient(
  values: {
    url?: string | undefined;
    'api-key'?: string | undefined;
    'data-dir'?: string | undefined;
  },
  io: Io,
): ApiClient {
  const dataDir = values['data-dir'] ?? io.env.HERALD_DATA_DIR ?? './.herald';
  const fromDataDir = (name: string): string | undefined => {
    const file = join(dataDir, name);
    return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
  };
  const base = (
    values.url ??
    (io.env.HERALD_URL || undefined) ??
    fromDataDir(URL_FILE) ??
    `http://127.0.0.1:${io.env.HERALD_PORT ?? '8080'}`
  ).replace(/\/+$/, '');
  const key = values['api-key'] ?? (io.env.HERALD_API_KEY || undefined) ?? fromDataDir('api-key');
  return {
    async request(method, path, body, headers = {}) {
      if (!key)
        throw new Error(
          'No API key: pass --api-key, set HERALD_API_KEY, or run where <data dir>/api-key exists',
        );
      // Said here, without the key: fetch would refuse the header and quote it.
      if (!HEADER_VALUE.test(key))
        throw new UsageError('The API key holds characters a header cannot carry (a line break?)');
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          body:
            body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
      } catch (error) {
        throw new Error(
          `Cannot reach Herald at ${base}: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`,
        );
      }
      const text = await response.text();
      const parsed: unknown = text === '' ? null : JSON.parse(text);
      if (!response.ok) throw new ApiError(response.status, parsed);
      return parsed;
    },
  };
}

/** `?a=1&b=2` from the flags that are set, in the order given; empty when none is. */
export function queryOf<K extends string>(
  values: Partial<Record<K, string | boolean | string[] | undefined>>,
  names: readonly K[],
): string {
  const query = new URLSearchParams();
  for (const name of names) {
    const value = values[name];
    if (typeof value === 'string') query.set(name, value);
  }
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}
