// Overview: deliveries per minute (succeeded / retried / failed) over the last hour and day,
// publish-to-delivered latency (p50, p99), queue depth, and the endpoints that need a person
// first. An operator who has not picked an account sees every account's figures and accounts.

import type { Hono } from 'hono';
import type { ActivitySeries, EndpointHealthView } from '../../services/overview.js';
import type { QueueStats } from '../../store/port.js';
import type { ConsoleContext, ConsoleDeps, ConsoleEnv } from '../context.js';
import { chromeOf } from '../chrome.js';
import { Page } from '../layout.js';
import { Badge, formatCount, formatMs, Table } from '../ui.js';

function Chart(props: { id: string; title: string; series: ActivitySeries }) {
  const { series } = props;
  const summary = `${formatCount(series.totals.succeeded)} succeeded, ${formatCount(series.totals.retried)} retried, ${formatCount(series.totals.failed)} failed`;
  return (
    <section class="card" aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      <p id={`${props.id}-summary`}>{summary}.</p>
      <div
        class="chart"
        role="img"
        aria-label={`Deliveries per minute, ${props.title.toLowerCase()}: ${summary}`}
        data-chart={JSON.stringify({ minutes: series.minutes, counts: series.counts })}
      ></div>
      <p class="hint">
        Publish to delivered: p50 <strong>{formatMs(series.p50)}</strong>, p99{' '}
        <strong>{formatMs(series.p99)}</strong>
      </p>
    </section>
  );
}

function Queue(props: { queue: QueueStats; now: number }) {
  const q = props.queue;
  const items: Array<[string, string]> = [
    ['Pending', formatCount(q.pending)],
    ['Due now', formatCount(q.due)],
    ['Delivering', formatCount(q.delivering)],
    ['Held', formatCount(q.held)],
    ['Failed', formatCount(q.failed)],
    ['Oldest due', q.oldestDueAt === null ? '—' : `${formatMs(props.now - q.oldestDueAt)} ago`],
  ];
  return (
    <section class="card" aria-labelledby="queue-title">
      <h2 id="queue-title">Queue</h2>
      <div class="grid">
        {items.map(([label, value]) => (
          <div>
            <div class="stat">{value}</div>
            <div class="stat-label">{label}</div>
          </div>
        ))}
      </div>
    </section>
  );
}

/** Why an endpoint needs a person, and its last error: two cells of an attention table. */
function WhyCells({ view }: { view: EndpointHealthView }) {
  return (
    <>
      <td>
        {view.attention.map((a) => (
          <Badge value={a} />
        ))}
      </td>
      <td>{view.activity?.lastError ?? view.endpoint.disabledReason ?? '—'}</td>
    </>
  );
}

function Attention(props: { views: readonly EndpointHealthView[] }) {
  const needing = props.views.filter((v) => v.attention.length > 0);
  return (
    <section class="card" aria-labelledby="attention-title">
      <h2 id="attention-title">Endpoints needing attention</h2>
      {needing.length === 0 ? (
        <p>None: every endpoint is enabled and delivering.</p>
      ) : (
        <Table head={['Endpoint', 'Why', 'Last error']}>
          {needing.map((v) => (
            <tr>
              <td>
                <a href={`/console/endpoints/${v.endpoint.id}`} class="mono">
                  {v.endpoint.url}
                </a>
              </td>
              <WhyCells view={v} />
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

/** The operator's view before an account is picked: every account's endpoints that need a person. */
function AttentionEverywhere(props: {
  accounts: ReadonlyArray<{ name: string; id: string; views: readonly EndpointHealthView[] }>;
}) {
  const rows = props.accounts.flatMap((a) =>
    a.views.filter((v) => v.attention.length > 0).map((v) => ({ account: a, view: v })),
  );
  return (
    <section class="card" aria-labelledby="attention-title">
      <h2 id="attention-title">Endpoints needing attention, every account</h2>
      {rows.length === 0 ? (
        <p>None: every endpoint of every account is enabled and delivering.</p>
      ) : (
        <>
          <p class="hint">Pick the account above to fix an endpoint.</p>
          <Table head={['Account', 'Endpoint', 'Why', 'Last error']}>
            {rows.map(({ account, view }) => (
              <tr>
                <td>
                  <a href={`/console/accounts/${account.id}`}>{account.name}</a>
                </td>
                <td class="mono">{view.endpoint.url}</td>
                <WhyCells view={view} />
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}

/** Every account with its endpoints' health (the operator's overview). */
async function everyAccount(deps: ConsoleDeps) {
  const { services } = deps;
  const accounts = await services.accounts.listAccounts();
  return Promise.all(
    accounts.map(async (account) => ({
      id: account.id,
      name: account.name,
      views: await services.overview.health(account.id, await services.endpoints.list(account.id)),
    })),
  );
}

async function render(c: ConsoleContext, deps: ConsoleDeps) {
  const session = c.get('session');
  const { services } = deps;
  const accountId = session.accountId;
  const [overview, views, everywhere] = await Promise.all([
    services.overview.overview(accountId),
    accountId === null
      ? Promise.resolve(null)
      : services.endpoints
          .list(accountId)
          .then((list) => services.overview.health(accountId, list)),
    accountId === null ? everyAccount(deps) : Promise.resolve(null),
  ]);
  return (
    <div id="overview" hx-get="/console/?fragment=1" hx-trigger="every 10s" hx-swap="outerHTML">
      <div class="grid">
        <Chart id="hour" title="Last hour" series={overview.hour} />
        <Chart id="day" title="Last 24 hours" series={overview.day} />
      </div>
      <Queue queue={overview.queue} now={deps.clock()} />
      {views ? <Attention views={views} /> : null}
      {everywhere ? <AttentionEverywhere accounts={everywhere} /> : null}
    </div>
  );
}

export function overviewRoutes(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/', async (c) => {
    const body = await render(c, deps);
    if (c.req.query('fragment') !== undefined && c.req.header('hx-request') === 'true') {
      return c.html(body);
    }
    const all = c.get('session').accountId === null;
    return c.html(
      <Page title="Overview" section="overview" chrome={await chromeOf(c, deps)}>
        <h1>Overview</h1>
        <p class="lead">
          {all
            ? 'Every account. Pick an account above to see and manage its endpoints.'
            : 'Deliveries of this account.'}
        </p>
        {body}
      </Page>,
    );
  });
}
