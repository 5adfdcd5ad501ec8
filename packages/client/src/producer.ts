// The producer side: publish events to Herald. Retries are safe: every publish carries an
// Idempotency-Key (yours, or one generated per publish and reused across its retries), so an
// answer lost on the way back never stores an event twice.

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
  /** Tries in all, the first included (default 4). */
  readonly maxTries?: number;
  /** The first wait before a retry (default 250 ms); it doubles each time, with jitter. */
  readonly retryDelayMs?: number;
  /** The longest wait between tries, Retry-After included (default 30 s). */
  readonly maxRetryDelayMs?: number;
  /** How long one request may take (default 30 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  /** Waits between tries (tests give a fake clock here). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface PublishOptions {
  /** The same key with the same body stores nothing new (Herald answers the first result). */
  readonly idempotencyKey?: string;
  /** Stops waiting and retrying. */
  readonly signal?: AbortSignal;
}

/** Herald answered with an error. `retryable` tells whether trying again later can help. */
export class HeraldRequestError extends Error {
  override name = 'HeraldRequestError';
  constructor(
    readonly status: number,
    /** The problem document's stable code, e.g. `invalid_event` (docs/errors.md). */
    readonly code: string | undefined,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Herald could not be reached (refused, reset, timed out); `cause` is the fetch error. */
export class HeraldConnectionError extends Error {
  override name = 'HeraldConnectionError';
}

/** Answers worth another try: Herald overloaded or restarting, a proxy in between failing. */
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** Retry-After in ms (seconds or an HTTP date), or undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class HeraldClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: HeraldClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Publishes one event; resolves with its id once Herald stored it durably. */
  async publish(event: PublishableEvent, options: PublishOptions = {}): Promise<string> {
    const body = (await this.post('/v1/events', event, options)) as { id: string };
    return body.id;
  }

  /** Publishes up to 1,000 events atomically; resolves with their ids in order. */
  async publishBatch(
    events: readonly PublishableEvent[],
    options: PublishOptions = {},
  ): Promise<string[]> {
    const body = (await this.post('/v1/events', events, options)) as { ids: string[] };
    return body.ids;
  }

  private async post(path: string, payload: unknown, options: PublishOptions): Promise<unknown> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    const body = JSON.stringify(payload);
    const tries = Math.max(1, this.options.maxTries ?? 4);
    for (let attempt = 1; ; attempt++) {
      let failure: HeraldRequestError | HeraldConnectionError;
      let wait: number | undefined;
      try {
        const response = await this.fetchImpl(`${this.base}${path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${this.options.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
          },
          body,
          signal: this.signalFor(options.signal),
        });
        const text = await response.text();
        if (response.ok) return JSON.parse(text) as unknown;
        failure = refusal(response.status, text);
        wait = retryAfterMs(response.headers.get('retry-after'));
      } catch (error) {
        if (options.signal?.aborted) throw error;
        failure = new HeraldConnectionError(
          `Cannot reach Herald at ${this.base}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      const retryable = failure instanceof HeraldConnectionError || failure.retryable;
      if (!retryable || attempt >= tries) throw failure;
      await (this.options.sleep ?? sleepFor)(this.delay(attempt, wait));
      options.signal?.throwIfAborted();
    }
  }

  /** Exponential backoff with jitter; Retry-After, when Herald sent one, instead. */
  private delay(attempt: number, retryAfter: number | undefined): number {
    const max = this.options.maxRetryDelayMs ?? 30_000;
    if (retryAfter !== undefined) return Math.min(retryAfter, max);
    const base = (this.options.retryDelayMs ?? 250) * 2 ** (attempt - 1);
    return Math.min(max, base / 2 + Math.random() * (base / 2));
  }

  /** Aborts when the request takes too long, or when the caller's signal does. */
  private signalFor(caller: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    if (!caller) return timeout;
    const both = new AbortController();
    const abort = (source: AbortSignal) => () => both.abort(source.reason);
    if (caller.aborted) both.abort(caller.reason);
    caller.addEventListener('abort', abort(caller), { once: true });
    timeout.addEventListener('abort', abort(timeout), { once: true });
    return both.signal;
  }
}

function refusal(status: number, text: string): HeraldRequestError {
  let problem: { code?: unknown; detail?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    // Not a problem document (a proxy's page, say).
  }
  return new HeraldRequestError(
    status,
    typeof problem.code === 'string' ? problem.code : undefined,
    typeof problem.detail === 'string' ? problem.detail : `HTTP ${status}`,
    RETRYABLE.has(status),
  );
}
