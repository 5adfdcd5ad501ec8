// Events: search by package id, name and time received; an event's exact payload and where it
// went (its deliveries, one per endpoint that subscribed).

import type { Hono } from 'hono';
import { NotFoundError, ValidationError } from '../../errors.js';
import type { Endpoint } from '../../domain/endpoint.js';
import { normaliseEventName } from '../../domain/events.js';
import { parseId } from '../../domain/ids.js';
import { chromeOf } from '../chrome.js';
import { accountOf, type ConsoleDeps, type ConsoleEnv } from '../context.js';
import { timeRangeOf } from '../forms.js';
import { Page } from '../layout.js';
import { Facts, Field, Pager, SearchForm, Table, Time, TimeRange } from '../ui.js';
import { DeliveryTable } from './deliveries.js';

const PAGE_SIZE = 50;

export function eventRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { services } = deps;

  app.get('/events', async (c) => {
    const accountId = accountOf(c);
    const q = c.req.query();
    let problem: string | undefined;
    let filter: { packageId?: string; name?: string; since?: number; until?: number } = {};
    try {
      const name = q.name?.trim() ? normaliseEventName(q.name.trim().toUpperCase()) : undefined;
      if (q.name?.trim() && !name)
        throw new ValidationError('validation_failed', `${q.name} is not an event name`);
      const { since, until } = timeRangeOf(q.since ?? '', q.until ?? '');
      filter = {
        ...(q.package?.trim() ? { packageId: q.package.trim() } : {}),
        ...(name ? { name } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      };
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problem = error.message;
    }
    const cursor = q.cursor && parseId('event', q.cursor) ? q.cursor : null;
    const page = problem
      ? { data: [], next: null }
      : await services.deliveries.searchEvents({ accountId, ...filter }, cursor, PAGE_SIZE);
    const query = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== ''));
    return c.html(
      <Page title="Events" section="events" chrome={await chromeOf(c, deps)}>
        <h1>Events</h1>
        <SearchForm
          action="/console/events"
          label="Search events"
          problem={problem}
          submit="Search"
        >
          <Field id="s-package" label="Package id">
            <input id="s-package" name="package" type="search" value={q.package ?? ''} />
          </Field>
          <Field id="s-name" label="Event name">
            <input id="s-name" name="name" type="text" value={q.name ?? ''} />
          </Field>
          <TimeRange prefix="s" since={filter.since} until={filter.until} />
        </SearchForm>
        {page.data.length === 0 ? (
          <p>No events found.</p>
        ) : (
          <Table head={['Event', 'Name', 'Package id', 'Received']}>
            {page.data.map((e) => (
              <tr>
                <td>
                  <a href={`/console/events/${e.id}`} class="mono">
                    {e.id}
                  </a>
                </td>
                <td>{e.name}</td>
                <td class="mono">{e.packageId}</td>
                <td>
                  <Time at={e.receivedAt} />
                </td>
              </tr>
            ))}
          </Table>
        )}
        <Pager base="/console/events" query={query} next={page.next} />
      </Page>,
      problem ? 400 : 200,
    );
  });

  app.get('/events/:id', async (c) => {
    const accountId = accountOf(c);
    const id = parseId('event', c.req.param('id'));
    if (!id) throw new NotFoundError('Event', c.req.param('id'));
    const [{ event, deliveries }, endpoints] = await Promise.all([
      services.deliveries.event(accountId, id),
      services.endpoints.list(accountId),
    ]);
    const byId = new Map<string, Endpoint>(endpoints.map((e) => [e.id, e]));
    return c.html(
      <Page title={`Event ${event.id}`} section="events" chrome={await chromeOf(c, deps)}>
        <p>
          <a href="/console/events">Events</a> /
        </p>
        <h1>
          {event.name} <span class="mono">{event.id}</span>
        </h1>
        <section class="card" aria-labelledby="about">
          <h2 id="about">About</h2>
          <Facts
            items={[
              [
                'Package id',
                <a
                  href={`/console/events?package=${encodeURIComponent(event.packageId)}`}
                  class="mono"
                >
                  {event.packageId}
                </a>,
              ],
              ['Received', <Time at={event.receivedAt} />],
            ]}
          />
        </section>
        <section class="card" aria-labelledby="payload">
          <h2 id="payload">Payload</h2>
          <p>Exactly what every listener receives:</p>
          <pre>{JSON.stringify(JSON.parse(event.payload), null, 2)}</pre>
        </section>
        <section class="card" aria-labelledby="where">
          <h2 id="where">Where it went</h2>
          {deliveries.length === 0 ? (
            <p>No endpoint subscribed to {event.name} when it arrived.</p>
          ) : (
            <DeliveryTable deliveries={deliveries} endpoints={byId} />
          )}
        </section>
      </Page>,
    );
  });
}
