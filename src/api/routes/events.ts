// `/v1/events`: publish (one event or a batch, durable before 202) and read one event.

import { Hono, type Context } from 'hono';
import { NotFoundError } from '../../errors.js';
import { MAX_BATCH, MAX_EVENT_BYTES, normaliseEventName } from '../../domain/events.js';
import { parseId, type AccountId } from '../../domain/ids.js';
import { ByteBudget } from '../admission.js';
import {
  bodyTooLarge,
  declaredLength,
  pageCursor,
  parseJson,
  readBody,
  timeRange,
} from '../body.js';
import { accountOf, json, type AppEnv, type RouteDeps } from '../context.js';
import { DEFAULT_PAGE_SIZE, EventQuerySchema, NoQuerySchema, parseQuery } from '../query.js';
import { presentDelivery, presentEvent } from '../../services/present.js';
import { ValidationError } from '../../errors.js';

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

export function eventRoutes({ services, bodyTimeoutMs }: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const budget = new ByteBudget(PUBLISH_BUDGET_BYTES);

  app.post('/', async (c) => {
    const accountId = accountOf(c);
    const declared = declaredLength(c);
    // Refused before queueing for the budget: it would otherwise wait for the budget alone.
    if (declared !== undefined && declared > MAX_PUBLISH_BYTES) {
      throw bodyTooLarge(MAX_PUBLISH_BYTES);
    }
    if (declared !== undefined && declared <= WHOLE_BODY_BYTES) {
      const release = await budget.acquire(declared);
      try {
        return await publish(c, accountId, declared, readBody(c, MAX_PUBLISH_BYTES));
      } finally {
        release();
      }
    }
    // A large body holds only what has arrived: one that trickles in keeps no room from others.
    const reservation = budget.open();
    try {
      const reading = readBody(c, MAX_PUBLISH_BYTES, reservation.grow);
      return await publish(c, accountId, declared ?? MAX_PUBLISH_BYTES, reading);
    } finally {
      reservation.release();
    }
  });

  async function publish(
    c: Context<AppEnv>,
    accountId: AccountId,
    bytes: number,
    reading: Promise<string>,
  ): Promise<Response> {
    const raw = await inTime(reading, bytes);
    // Returned, not awaited, like IngestService.publish: the body and its parse stay alive only
    // until they are turned into a batch, not while the batch commits.
    return submit(c, accountId, raw);
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

  function submit(c: Context<AppEnv>, accountId: AccountId, raw: string): Promise<Response> {
    const input = parseJson(raw);
    if (!Array.isArray(input) && Buffer.byteLength(raw) > MAX_EVENT_BYTES) {
      throw new ValidationError(
        'payload_too_large',
        `An event must be at most ${MAX_EVENT_BYTES / 1024} KiB`,
      );
    }
    if (Array.isArray(input) && input.length > MAX_BATCH) {
      throw new ValidationError(
        'batch_too_large',
        `A batch holds at most ${MAX_BATCH} events; this one has ${input.length}`,
      );
    }
    return services.ingest.publish(accountId, input, raw, c.req.header('idempotency-key')).then(
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
    const page = await services.deliveries.listEvents(
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
