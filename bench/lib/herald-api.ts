// The few calls of Herald's HTTP API the scenarios need, made the way a client would make them.

import { batchBody, CALLBACK_KEY, EVENT_NAME } from './payload.js';

export const BENCH_API_KEY = 'bench-api-key-0123456789abcdef';

const DEFAULT_TIMEOUT_MS = 120_000;

export class HeraldApi {
  constructor(
    readonly url: string,
    readonly apiKey: string = BENCH_API_KEY,
  ) {}

  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return (text === '' ? null : JSON.parse(text)) as T;
  }

  /**
   * A Basic endpoint without a signing secret: what a OneSpan `/api/callback` registration gives,
   * with the /v1 options the scenario needs.
   */
  async createBasicEndpoint(
    url: string,
    options: { maxConcurrency?: number } = {},
  ): Promise<string> {
    const created = await this.call<{ id: string }>('POST', '/v1/endpoints', {
      url,
      events: [EVENT_NAME],
      auth: { type: 'BASIC', key: CALLBACK_KEY },
      signing: false,
      ...(options.maxConcurrency === undefined
        ? {}
        : { options: { maxConcurrency: options.maxConcurrency } }),
    });
    return created.id;
  }

  /** OneSpan's `salesforceOauth2` connector, then the /v1 concurrency option. */
  async registerSalesforce(
    listenerUrl: string,
    key: { host: string; clientId: string; refreshToken: string },
    maxConcurrency: number,
  ): Promise<string> {
    const encoded = Buffer.from(
      JSON.stringify({ host: key.host, client_id: key.clientId, refresh_token: key.refreshToken }),
    ).toString('base64');
    await this.call('POST', '/api/callback/connectors/salesforceOauth2', {
      url: listenerUrl,
      key: encoded,
      events: [EVENT_NAME],
    });
    const list = await this.call<{ data: Array<{ id: string; url: string }> }>(
      'GET',
      '/v1/endpoints',
    );
    const endpoint = list.data.find((e) => e.url === listenerUrl);
    if (!endpoint) throw new Error('the salesforceOauth2 endpoint was not found after registering');
    await this.call('PATCH', `/v1/endpoints/${endpoint.id}`, { options: { maxConcurrency } });
    return endpoint.id;
  }

  /** Unlabelled Prometheus samples from /metrics (e.g. nodejs_heap_size_used_bytes). */
  async metrics(names: readonly string[]): Promise<Record<string, number>> {
    const response = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(60_000) });
    const text = await response.text();
    const out: Record<string, number> = {};
    for (const name of names) {
      const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      if (match) out[name] = Number(match[1]);
    }
    return out;
  }

  /** Enabling releases the endpoint's held deliveries (one UPDATE): allow it time. */
  async setState(id: string, state: 'enabled' | 'disabled'): Promise<void> {
    await this.call('PATCH', `/v1/endpoints/${id}`, { state }, 30 * 60_000);
  }

  /**
   * Publishes `total` events as batches of `batchSize` with `concurrency` requests in flight;
   * each is durable when its 202 arrives. Event numbers start at `first` so ids stay distinct.
   */
  async publish(
    total: number,
    options: { first?: number; batchSize?: number; concurrency?: number } = {},
  ): Promise<void> {
    const first = options.first ?? 0;
    const batchSize = options.batchSize ?? 1000;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const start = next;
        const count = Math.min(batchSize, total - start);
        next += count;
        await this.call('POST', '/v1/events', batchBody(first + start, count));
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  }
}
