// The producer side: publish events to Herald from TypeScript. Retries are safe: every publish
// carries an Idempotency-Key (yours, or a generated one reused across the retries).

import { randomUUID } from 'node:crypto';

export interface PublishableEvent {
  readonly name: string;
  readonly packageId: string;
  readonly sessionUser?: string | null;
  readonly message?: string | null;
  readonly documentId?: string | null;
  /** ISO-8601; Herald uses the time of receipt when absent. */
  readonly createdDate?: string;
  readonly [extra: string]: unknown;
}

export interface HeraldClientOptions {
  /** Herald's base URL, e.g. https://herald.example.com */
  readonly url: string;
  readonly apiKey: string;
  /** Tries in all for network errors and 5xx answers (default 4), with exponential backoff. */
  readonly maxTries?: number;
  readonly fetch?: typeof fetch;
}

/** Herald refused the request (4xx): retrying the same request cannot help. */
export class HeraldRequestError extends Error {
  override name = 'HeraldRequestError';
  constructor(
    readonly status: number,
    /** The problem document's stable code, e.g. `invalid_event`. */
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class HeraldClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: HeraldClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Publishes one event; resolves with its id once Herald stored it durably. */
  async publish(
    event: PublishableEvent,
    options: { idempotencyKey?: string } = {},
  ): Promise<string> {
    const body = (await this.post('/v1/events', event, options.idempotencyKey)) as { id: string };
    return body.id;
  }

  /** Publishes up to 1,000 events atomically; resolves with their ids in order. */
  async publishBatch(
    events: readonly PublishableEvent[],
    options: { idempotencyKey?: string } = {},
  ): Promise<string[]> {
    const body = (await this.post('/v1/events', events, options.idempotencyKey)) as {
      ids: string[];
    };
    return body.ids;
  }

  private async post(
    path: string,
    payload: unknown,
    idempotencyKey: string = randomUUID(),
  ): Promise<unknown> {
    const tries = this.options.maxTries ?? 4;
    let lastError: unknown;
    for (let attempt = 1; attempt <= tries; attempt++) {
      try {
        const response = await this.fetchImpl(`${this.base}${path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
          },
          body: JSON.stringify(payload),
        });
        const text = await response.text();
        if (response.ok) return JSON.parse(text) as unknown;
        let problem: { code?: string; detail?: string } = {};
        try {
          problem = JSON.parse(text) as { code?: string; detail?: string };
        } catch {
          // not a problem document
        }
        const error = new HeraldRequestError(
          response.status,
          problem.code,
          problem.detail ?? `HTTP ${response.status}`,
        );
        if (response.status < 500) throw error;
        lastError = error;
      } catch (error) {
        if (error instanceof HeraldRequestError && error.status < 500) throw error;
        lastError = error;
      }
      if (attempt < tries) await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
    throw lastError;
  }
}
