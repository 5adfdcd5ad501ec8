// Deliveries: filter by status, endpoint, event name, package id and time; each delivery's
// attempts as a timeline (time, status code, duration, outcome, the start of the response);
// retry one now. The list refreshes itself while it is open.

import type { Hono } from 'hono';
import { NotFoundError, ValidationError } from '../../errors.js';
import { DELIVERY_STATUSES, isDeliveryStatus } from '../../domain/delivery.js';
import type { Endpoint } from '../../domain/endpoint.js';
import { normaliseEventName } from '../../domain/events.js';
import { parseId, type EndpointId } from '../../domain/ids.js';
import type { DeliveryRecord, Page as ResultPage } from '../../store/port.js';
import { chromeOf } from '../chrome.js';
import {
  accountOf,
  seeOther,
  type ConsoleContext,
  type ConsoleDeps,
  type ConsoleEnv,
} from '../context.js';
import { timeRangeOf } from '../forms.js';
import { Csrf, Page } from '../layout.js';
import { Badge, Facts, Field, formatMs, Pager, SearchForm, Table, Time, TimeRange } from '../ui.js';

const PAGE_SIZE = 50;
/** How many of a package's latest events the package filter follows. */
const PACKAGE_EVENTS = 50;

export function DeliveryTable(props: {
  deliveries: readonly DeliveryRecord[];
  endpoints: ReadonlyMap<string, Endpoint>;
}) {
  if (props.deliveries.length === 0) return <p>No deliveries.</p>;
  return (
    <Table
      head={[
        'Delivery',
        'Event',
        'Endpoint',
        'Status',
        { label: 'Attempts', num: true },
        'Last answer',
        'Created',
      ]}
    >
      {props.deliveries.map((d) => (
        <tr>
          <td>
            <a href={`/console/deliveries/${d.id}`} class="mono">
              {d.id}
            </a>
          </td>
          <td>
            <a href={`/console/events/${d.eventId}`}>{d.eventName}</a>
          </td>
          <td class="mono">{props.endpoints.get(d.endpointId)?.url ?? d.endpointId}</td>
          <td>
            <Badge value={d.status} />
          </td>
          <td class="num">{d.attempts}</td>
          <td>{d.lastStatusCode ?? d.lastError ?? '—'}</td>
          <td>
            <Time at={d.createdAt} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

interface Filters {
  readonly status?: DeliveryRecord['status'] | undefined;
  readonly endpointId?: EndpointId | undefined;
  readonly eventName?: string | undefined;
  readonly packageId?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

function filtersOf(q: Record<string, string>): Filters {
  const status = q.status || undefined;
  if (status && !isDeliveryStatus(status)) {
    throw new ValidationError(
      'validation_failed',
      `Status must be one of ${DELIVERY_STATUSES.join(', ')}`,
    );
  }
  const endpoint = q.endpoint || undefined;
  const endpointId = endpoint ? parseId('endpoint', endpoint) : undefined;
  if (endpoint && !endpointId) throw new ValidationError('validation_failed', 'Not an endpoint id');
  const event = q.event?.trim() || undefined;
  const eventName = event ? normaliseEventName(event.toUpperCase()) : undefined;
  if (event && !eventName)
    throw new ValidationError('validation_failed', `${event} is not an event name`);
  const { since, until } = timeRangeOf(q.since ?? '', q.until ?? '');
  return {
    status: status as Filters['status'],
    endpointId,
    eventName,
    packageId: q.package?.trim() || undefined,
    since,
    until,
  };
}

async function search(
  deps: ConsoleDeps,
  c: ConsoleContext,
  f: Filters,
  cursor: string | null,
): Promise<ResultPage<DeliveryRecord>> {
  const accountId = accountOf(c);
  const filter = {
    accountId,
    endpointId: f.endpointId,
    status: f.status,
    eventName: f.eventName,
    since: f.since,
    until: f.until,
  };
  if (f.packageId === undefined) return deps.services.deliveries.list(filter, cursor, PAGE_SIZE);
  // Deliveries carry no package id: follow the package's latest events to theirs.
  const events = await deps.services.deliveries.searchEvents(
    { accountId, packageId: f.packageId },
    null,
    PACKAGE_EVENTS,
  );
  const pages = await Promise.all(
    events.data.map((e) =>
      deps.services.deliveries.list({ ...filter, eventId: e.id }, null, PAGE_SIZE),
    ),
  );
  const data = pages.flatMap((p) => p.data).sort((a, b) => (a.id < b.id ? 1 : -1));
  return { data: data.slice(0, PAGE_SIZE), next: null };
}

export function deliveryRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { services } = deps;

  app.get('/deliveries', async (c) => {
    const accountId = accountOf(c);
    const q = c.req.query();
    const cursor = q.cursor && parseId('delivery', q.cursor) ? q.cursor : null;
    let filters: Filters = {};
    let problem: string | undefined;
    try {
      filters = filtersOf(q);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problem = error.message;
    }
    const [page, endpoints] = await Promise.all([
      problem ? Promise.resolve({ data: [], next: null }) : search(deps, c, filters, cursor),
      services.endpoints.list(accountId),
    ]);
    const byId = new Map<string, Endpoint>(endpoints.map((e) => [e.id, e]));
    const query = new URLSearchParams(
      Object.entries(q).filter(([k, v]) => v !== '' && k !== 'fragment'),
    );
    const fragmentQuery = new URLSearchParams(query);
    fragmentQuery.set('fragment', '1');
    const list = (
      <div
        id="delivery-list"
        hx-get={`/console/deliveries?${fragmentQuery.toString()}`}
        hx-trigger={cursor ? undefined : 'every 5s'}
        hx-swap="outerHTML"
      >
        <DeliveryTable deliveries={page.data} endpoints={byId} />
        <Pager base="/console/deliveries" query={query} next={page.next} />
      </div>
    );
    if (q.fragment !== undefined && c.req.header('hx-request') === 'true') return c.html(list);
    return c.html(
      <Page title="Deliveries" section="deliveries" chrome={await chromeOf(c, deps)}>
        <h1>Deliveries</h1>
        <SearchForm
          action="/console/deliveries"
          label="Filter deliveries"
          problem={problem}
          submit="Filter"
        >
          <Field id="f-status" label="Status">
            <select id="f-status" name="status">
              <option value="">any</option>
              {DELIVERY_STATUSES.map((s) => (
                <option value={s} selected={filters.status === s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          <Field id="f-endpoint" label="Endpoint">
            <select id="f-endpoint" name="endpoint">
              <option value="">any</option>
              {endpoints.map((e) => (
                <option value={e.id} selected={filters.endpointId === e.id}>
                  {e.url}
                </option>
              ))}
            </select>
          </Field>
          <Field id="f-event" label="Event name">
            <input id="f-event" name="event" type="text" value={q.event ?? ''} />
          </Field>
          <Field id="f-package" label="Package id">
            <input id="f-package" name="package" type="text" value={q.package ?? ''} />
          </Field>
          <TimeRange prefix="f" since={filters.since} until={filters.until} />
        </SearchForm>
        {list}
      </Page>,
      problem ? 400 : 200,
    );
  });

  app.get('/deliveries/:id', async (c) => {
    const accountId = accountOf(c);
    const id = parseId('delivery', c.req.param('id'));
    if (!id) throw new NotFoundError('Delivery', c.req.param('id'));
    const { delivery: d, attempts } = await services.deliveries.get(accountId, id);
    const endpoint = await services.endpoints.get(accountId, d.endpointId).catch(() => undefined);
    const session = c.get('session');
    return c.html(
      <Page title={`Delivery ${d.id}`} section="deliveries" chrome={await chromeOf(c, deps)}>
        <p>
          <a href="/console/deliveries">Deliveries</a> /
        </p>
        <h1>
          Delivery <span class="mono">{d.id}</span>
        </h1>
        <section class="card" aria-labelledby="about">
          <h2 id="about">About</h2>
          <Facts
            items={[
              ['Status', <Badge value={d.status} />],
              [
                'Event',
                <a href={`/console/events/${d.eventId}`}>
                  {d.eventName} ({d.eventId})
                </a>,
              ],
              [
                'Endpoint',
                endpoint ? (
                  <a href={`/console/endpoints/${endpoint.id}`} class="mono">
                    {endpoint.url}
                  </a>
                ) : (
                  d.endpointId
                ),
              ],
              ['Attempts', `${d.attempts} (${d.cycleAttempts} in this cycle)`],
              ['Next attempt', <Time at={d.nextAttemptAt} />],
              ['Last error', d.lastError ?? '—'],
              ['Created', <Time at={d.createdAt} />],
              ['Changed', <Time at={d.updatedAt} />],
            ]}
          />
          <div class="actions">
            <form method="post" action={`/console/deliveries/${d.id}/retry`}>
              <Csrf session={session} />
              <button type="submit">Retry now</button>
            </form>
          </div>
        </section>
        <section class="card" aria-labelledby="attempts">
          <h2 id="attempts">Attempts</h2>
          {attempts.length === 0 ? (
            <p>No attempt yet.</p>
          ) : (
            <ol class="timeline" id="attempt-timeline">
              {attempts.map((a) => (
                <li>
                  <h3>
                    Attempt {a.number}:{' '}
                    <Badge value={a.outcome === 'success' ? 'succeeded' : 'failed'} />{' '}
                    {a.statusCode === null ? 'no answer' : `HTTP ${a.statusCode}`}
                  </h3>
                  <Facts
                    items={[
                      ['Started', <Time at={a.startedAt} />],
                      ['Took', formatMs(a.durationMs)],
                      ['Outcome', a.outcome],
                      [
                        'How',
                        a.trigger === 'manual'
                          ? 'retried by a person'
                          : a.trigger === 'token_refresh'
                            ? 'resent with a new token'
                            : 'scheduled',
                      ],
                      ['Error', a.error ?? '—'],
                      [
                        'Response (first 4 KiB)',
                        a.responseBody ? <pre>{a.responseBody}</pre> : '—',
                      ],
                    ]}
                  />
                </li>
              ))}
            </ol>
          )}
        </section>
      </Page>,
    );
  });

  app.post('/deliveries/:id/retry', async (c) => {
    const id = parseId('delivery', c.req.param('id'));
    if (!id) throw new NotFoundError('Delivery', c.req.param('id'));
    await services.deliveries.retry(accountOf(c), id);
    return seeOther(c, deps, `/console/deliveries/${id}`, {
      kind: 'ok',
      text: 'Retrying now: the delivery is due.',
    });
  });
}
