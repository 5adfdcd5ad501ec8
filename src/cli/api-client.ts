// The CLI's client of a running Herald's HTTP API. The URL and key come from flags, then
// HERALD_URL / HERALD_API_KEY, then the local defaults (the port setting, <data dir>/api-key).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADER_VALUE } from '../domain/endpoint.js';
import { UsageError, type Io } from './command.js';

export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const CLIENT_HELP = `Connection:
  --url URL          Herald's address (env HERALD_URL; default http://127.0.0.1:$HERALD_PORT or :8080)
  --api-key KEY      API key (env HERALD_API_KEY; default: the key in <data dir>/api-key)
  --data-dir DIR     where to find the generated api-key file (env HERALD_DATA_DIR; default ./.herald)
  --json             print the raw JSON response`;

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
  const base = (
    values.url ??
    io.env.HERALD_URL ??
    `http://127.0.0.1:${io.env.HERALD_PORT ?? '8080'}`
  ).replace(/\/+$/, '');
  let key = values['api-key'] ?? io.env.HERALD_API_KEY;
  if (!key) {
    const file = join(values['data-dir'] ?? io.env.HERALD_DATA_DIR ?? './.herald', 'api-key');
    if (existsSync(file)) key = readFileSync(file, 'utf8').trim();
  }
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
