// `/v1/events`: publish (one event or a batch, durable before 202) and read one event.

import { Hono, type Context } from 'hono';
import { NotFoundError } from '../../errors.js';
import { MAX_BATCH, MAX_EVENT_BYTES, normaliseEventName } from '../../domain/events.js';
import { parseId, type AccountId } from '../../domain/ids.js';
import { MAX_JSON_DEPTH } from '../../domain/json-shape.js';
import { ByteBudget } from '../admission.js';
import {
  bodyTooLarge,
  declaredLength,
  pageCursor,
  parseJson,
  readBody,
  timeRange,
  type JsonBounds,
} from '../body.js';
import { accountOf, json, type AppEnv, type RouteDeps } from '../context.js';
import { DEFAULT_PAGE_SIZE, EventQuerySchema, NoQuerySchema, parseQuery } from '../query.js';
import { presentDelivery, presentEvent } from '../../services/present.js';
import { ValidationError } from '../../errors.js';
import type { Span } from '../../observability/tracing.js';

/** A batch may carry MAX_BATCH events of up to MAX_EVENT_BYTES each, within this total. */
export const MAX_PUBLISH_BYTES = 32 * 1024 * 1024;
/**
 * Bytes of publish bodies being read, parsed and committed at once: about ten batches of 1,000
 * typical events, so batch ingest keeps its pipelining (measured: 53,600 events/s, against 48,000
 * with a quarter of this), while a burst of 32 MiB batches is taken one at a time.
 */
export const PUBLISH_BUDGET_BYTES = 1024 * 1024;
/**
 * Bodies up to this size are reserved whole before they are read (one read, no stream); larger
 * ones, and chunked ones, are counted as they arrive.
 */
const WHOLE_BODY_BYTES = 64 * 1024;
const MIB = 1024 * 1024;
/** Time a publish body gets per MiB it declares, beyond HERALD_BODY_TIMEOUT (512 KiB/s). */
const BODY_MS_PER_MIB = 2000;

/**
 * A publish body, checked on its bytes before anything is parsed: an event is at most 256 KiB
 * of JSON and nests at most 32 levels, alone or in a batch (whose array adds a level); a batch
 * holds at most 1,000 events.
 */
const PUBLISH_BOUNDS: JsonBounds = {
  maxDepth: MAX_JSON_DEPTH,
  maxArrayDepth: MAX_JSON_DEPTH + 1,
  maxItems: MAX_BATCH,
  maxItemBytes: MAX_EVENT_BYTES,
  refuse: (outline) => {
    if (outline.items > MAX_BATCH) {
      return new ValidationError(
        'batch_too_large',
        `A batch holds at most ${MAX_BATCH} events; this one has more`,
      );
    }
    if ((outline.rootArray ? outline.largestItem : outline.bytes) > MAX_EVENT_BYTES) {
      return new ValidationError(
        'payload_too_large',
        `An event must be at most ${MAX_EVENT_BYTES / 1024} KiB`,
      );
    }
    const message = `nests more than ${MAX_JSON_DEPTH} levels of objects and arrays`;
    return new ValidationError('invalid_event', `An event ${message}`, {
      problems: [{ path: '/', message }],
    });
  },
};

export function eventRoutes({ services, bodyTimeoutMs, tracer }: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const budget = new ByteBudget(PUBLISH_BUDGET_BYTES);

  app.post('/', (c) => (tracer.on ? traced(c) : accept(c, null)));

  /** The publish as a server span: an incoming `traceparent` is its parent. */
  async function traced(c: Context<AppEnv>): Promise<Response> {
    const span = tracer.start('POST /v1/events', {
      kind: 'server',
      parent: c.req.header('traceparent') ?? null,
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/v1/events',
        'url.path': '/v1/events',
      },
    });
    try {
      const response = await accept(c, span);
      span.setAttributes({ 'http.response.status_code': response.status });
      return response;
    } catch (error) {
      span.fail(error instanceof Error ? error.message : String(error));
      throw error;
    } finally {
      span.end();
    }
  }

  async function accept(c: Context<AppEnv>, span: Span | null): Promise<Response> {
    const accountId = accountOf(c);
    const declared = declaredLength(c);
    // Refused before queueing for the budget: it would otherwise wait for the budget alone.
    if (declared !== undefined && declared > MAX_PUBLISH_BYTES) {
      throw bodyTooLarge(MAX_PUBLISH_BYTES);
    }
    if (declared !== undefined && declared <= WHOLE_BODY_BYTES) {
      const release = await budget.acquire(declared);
      try {
        const reading = readBody(c, MAX_PUBLISH_BYTES, undefined, PUBLISH_BOUNDS);
        return await publish(c, accountId, declared, reading, span);
      } finally {
        release();
      }
    }
    // A large body holds only what has arrived: one that trickles in keeps no room from others.
    const reservation = budget.open();
    try {
      const reading = readBody(c, MAX_PUBLISH_BYTES, reservation.grow, PUBLISH_BOUNDS);
      return await publish(c, accountId, declared ?? MAX_PUBLISH_BYTES, reading, span);
    } finally {
      reservation.release();
    }
  }

  async function publish(
    c: Context<AppEnv>,
    accountId: AccountId,
    bytes: number,
    reading: Promise<string>,
    span: Span | null,
  ): Promise<Response> {
    const raw = await inTime(reading, bytes);
    // Returned, not awaited, like IngestService.publish: the body and its parse stay alive only
    // until they are turned into a batch, not while the batch commits.
    return submit(c, accountId, raw, span);
  }

  /**
   * The body, within its deadline (HERALD_BODY_TIMEOUT plus an allowance per MiB): a body that
   * never finishes must not keep its request, and what it holds, forever.
   */
  function inTime(reading: Promise<string>, bytes: number): Promise<string> {
    const limitMs = bodyTimeoutMs + Math.ceil((bytes / MIB) * BODY_MS_PER_MIB);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ValidationError(
              'request_timeout',
              `The request body did not arrive within ${limitMs} ms; send it without pauses`,
            ),
          ),
        limitMs,
      );
    });
    // A body abandoned at its deadline fails later, when its connection closes: not an error.
    reading.catch(() => {});
    return Promise.race([reading, late]).finally(() => clearTimeout(timer));
  }

  function submit(
    c: Context<AppEnv>,
    accountId: AccountId,
    raw: string,
    span: Span | null,
  ): Promise<Response> {
    // Depth, batch and event sizes were checked on the bytes (PUBLISH_BOUNDS): the parse is bounded.
    const input = parseJson(raw);
    return services.ingest
      .publish(accountId, input, raw, c.req.header('idempotency-key'), span)
      .then(
        (result) =>
          new Response(result.body, {
            status: 202,
            headers: {
              'content-type': 'application/json; charset=utf-8',
              ...(result.replayed ? { 'idempotent-replayed': 'true' } : {}),
            },
          }),
      );
  }

  app.get('/', async (c) => {
    const q = parseQuery(c, EventQuerySchema);
    const name = q.name === undefined ? undefined : normaliseEventName(q.name);
    if (q.name !== undefined && !name) {
      throw new ValidationError(
        'invalid_request',
        `name ${JSON.stringify(q.name)} is not an event name (upper case letters, digits, underscores)`,
      );
    }
    const page = await services.deliveries.searchEvents(
      { accountId: accountOf(c), packageId: q.packageId, name, ...timeRange(q.since, q.until) },
      pageCursor('event', q.cursor),
      q.limit ?? DEFAULT_PAGE_SIZE,
    );
    return json({ data: page.data.map(presentEvent), next: page.next });
  });

  app.get('/:id', async (c) => {
    parseQuery(c, NoQuerySchema);
    const id = parseId('event', c.req.param('id'));
    if (!id) throw new NotFoundError('Event', c.req.param('id'));
    const { event, deliveries } = await services.deliveries.event(accountOf(c), id);
    return json({ ...presentEvent(event), deliveries: deliveries.map(presentDelivery) });
  });

  return app;
}
