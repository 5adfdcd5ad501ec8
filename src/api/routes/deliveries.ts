// `/v1/deliveries`: newest first with filters and a cursor; one delivery with its attempts; retry.

import { Hono } from 'hono';
import { NotFoundError, ValidationError } from '../../errors.js';
import { normaliseEventName } from '../../domain/events.js';
import { parseId } from '../../domain/ids.js';
import { pageCursor, timeRange } from '../body.js';
import { accountOf, json, type AppEnv, type RouteDeps } from '../context.js';
import { DEFAULT_PAGE_SIZE, DeliveryQuerySchema, NoQuerySchema, parseQuery } from '../query.js';
import { presentAttempt, presentDelivery } from '../../services/present.js';

export function deliveryRoutes({ services }: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/', async (c) => {
    const accountId = accountOf(c);
    const q = parseQuery(c, DeliveryQuerySchema);
    const endpointId = q.endpoint ? parseId('endpoint', q.endpoint) : undefined;
    if (q.endpoint && !endpointId)
      throw new ValidationError(
        'invalid_request',
        `endpoint ${JSON.stringify(q.endpoint)} is not an endpoint id (ep_...)`,
      );
    const eventId = q.event?.startsWith('evt_') ? parseId('event', q.event) : undefined;
    if (q.event?.startsWith('evt_') && !eventId)
      throw new ValidationError(
        'invalid_request',
        `event ${JSON.stringify(q.event)} is not an event id`,
      );
    const eventName =
      q.event && !q.event.startsWith('evt_') ? normaliseEventName(q.event) : undefined;
    if (q.event && !eventId && !eventName) {
      throw new ValidationError(
        'invalid_request',
        'event must be an event id (evt_...) or an event name',
      );
    }
    const page = await services.deliveries.list(
      {
        accountId,
        endpointId,
        eventId,
        eventName,
        packageId: q.packageId,
        status: q.status,
        ...timeRange(q.since, q.until),
      },
      pageCursor('delivery', q.cursor),
      q.limit ?? DEFAULT_PAGE_SIZE,
    );
    return json({ data: page.data.map(presentDelivery), next: page.next });
  });

  app.get('/:id', async (c) => {
    parseQuery(c, NoQuerySchema);
    const id = parseId('delivery', c.req.param('id'));
    if (!id) throw new NotFoundError('Delivery', c.req.param('id'));
    const { delivery, attempts } = await services.deliveries.get(accountOf(c), id);
    return json({ ...presentDelivery(delivery), attempts: attempts.map(presentAttempt) });
  });

  app.post('/:id/retry', async (c) => {
    const id = parseId('delivery', c.req.param('id'));
    if (!id) throw new NotFoundError('Delivery', c.req.param('id'));
    const delivery = await services.deliveries.retry(accountOf(c), id);
    return json(presentDelivery(delivery), 202);
  });

  return app;
}
