// console: how long each console page takes to make with 100,000 deliveries in the store. The
// store is seeded directly (events over the last day to a few endpoints, their deliveries taken
// through claims and results as a worker would, so the delivery activity is what it would be:
// mostly succeeded, some retried, failed and held), then every page is requested in turn with a
// signed-in session and its server time read from the Server-Timing header.

import { DEFAULT_ENDPOINT_OPTIONS } from '../../src/domain/endpoint.js';
import { newId, timeOfId, type AccountId, type EndpointId } from '../../src/domain/ids.js';
import type { DeliveryResult, IngestBatch, NewEvent, Store } from '../../src/store/port.js';
import { BENCH_API_KEY } from '../lib/herald-api.js';
import { generateMasterKey } from '../../src/services/secret-box.js';
import { startInProcessHerald, type InProcessHerald } from '../lib/herald.js';
import { analyzeDatabase, createScratchDatabase } from '../lib/pg-scratch.js';
import { metric, type Metric } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';
import { percentileOfSorted } from '../lib/stats.js';

const DELIVERIES = 100_000;
/** Each event goes to two of the busy endpoints: 50,000 events, 100,000 deliveries. */
const FAN_OUT = 2;
const PACKAGES = 10_000;
const NAMES = [
  'PACKAGE_CREATE',
  'PACKAGE_ACTIVATE',
  'DOCUMENT_SIGNED',
  'SIGNER_COMPLETE',
  'PACKAGE_COMPLETE',
];
const REQUESTS_PER_RUN = 20;
const BUDGET_MS = 100;
const ADMIN_KEY = 'bench-admin-key-0123456789';
const DAY_MS = 24 * 3600_000;

/** Publishes the seed straight into the store: events over the last day, 1,000 per commit. */
async function seed(
  store: Store,
  accountId: AccountId,
  endpoints: readonly EndpointId[],
  now: number,
) {
  const events = DELIVERIES / FAN_OUT;
  const start = now - DAY_MS;
  let batch: NewEvent[] = [];
  const flush = async () => {
    const ingest: IngestBatch = { accountId, idempotency: null, events: batch, response: '{}' };
    await store.ingest([ingest]);
    batch = [];
  };
  for (let i = 0; i < events; i++) {
    const receivedAt = start + Math.floor((i * DAY_MS) / events);
    const name = NAMES[i % NAMES.length]!;
    const packageId = `pkg-${i % PACKAGES}`;
    const id = newId('event', receivedAt);
    const payload = JSON.stringify({
      '@class': 'com.silanis.esl.packages.event.ESLProcessEvent',
      name,
      sessionUser: 'bench-user',
      packageId,
      message: null,
      documentId: null,
      createdDate: new Date(receivedAt).toISOString(),
    });
    batch.push({
      event: { id, accountId, name, packageId, payload, receivedAt },
      deliveries: [0, 1].map((k) => ({
        id: newId('delivery', receivedAt),
        endpointId: endpoints[(i + k) % endpoints.length]!,
        // One in twenty waits for a person, as behind a disabled endpoint.
        status: i % 20 === 19 ? ('held' as const) : ('pending' as const),
        orderingKey: null,
      })),
    });
    if (batch.length === 1000) await flush();
  }
  if (batch.length > 0) await flush();
}

/** Works every pending delivery once, as a worker would: most succeed, some retry, some fail. */
async function settle(store: Store, now: number): Promise<void> {
  let n = 0;
  for (;;) {
    const claimed = await store.claimDeliveries({
      now,
      limit: 1000,
      owner: 'bench',
      leaseUntil: now + 600_000,
      skipEndpoints: [],
      thorough: true,
    });
    if (claimed.length === 0) return;
    const results: DeliveryResult[] = claimed.map((c) => {
      const kind = n++ % 20;
      const status = kind < 17 ? 'succeeded' : kind < 19 ? 'failed' : 'pending';
      // Worked 40 ms to 2 s after its publish, as a worker keeping up would have.
      const at = Math.min(now, timeOfId('delivery', c.id)! + 40 + (n % 50) * 40);
      const failed = status !== 'succeeded';
      return {
        deliveryId: c.id,
        owner: 'bench',
        status,
        nextAttemptAt: status === 'pending' ? now + 3600_000 : null,
        attempts: 1,
        cycleAttempts: 1,
        lastStatusCode: failed ? 503 : 200,
        lastError: failed ? 'HTTP 503: the listener is busy' : null,
        updatedAt: at,
        attempt: {
          id: newId('attempt', at),
          deliveryId: c.id,
          number: 1,
          trigger: 'scheduled',
          startedAt: at - 30,
          durationMs: 30,
          statusCode: failed ? 503 : 200,
          outcome: failed ? 'http_error' : 'success',
          error: failed ? 'HTTP 503' : null,
          responseBody: failed ? 'busy' : 'ok',
        },
        raised: null,
      };
    });
    await store.recordResults(results);
  }
}

async function signIn(url: string, key: string): Promise<string> {
  const response = await fetch(`${url}/console/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ apiKey: key }).toString(),
    redirect: 'manual',
  });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('herald_session='));
  if (response.status !== 303 || !cookie) throw new Error(`sign-in answered ${response.status}`);
  return cookie.split(';')[0]!;
}

/** The server time of one page, from its Server-Timing header. */
async function serverTime(url: string, cookie: string): Promise<number> {
  const response = await fetch(url, { headers: { cookie } });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const timing = /app;dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '');
  if (!timing) throw new Error(`${url} has no Server-Timing`);
  return Number(timing[1]);
}

/** PostgreSQL for the second half of the scenario, when a database is named. */
function databaseUrl(): string | undefined {
  return process.env.HERALD_BENCH_DATABASE_URL || process.env.HERALD_TEST_DATABASE_URL || undefined;
}

/** Seeds a running Herald and times every page: p95 per page and run, by page name. */
async function measure(
  herald: InProcessHerald,
  runs: number,
  log: (line: string) => void,
  afterSeeding: () => Promise<void> = async () => {},
): Promise<Map<string, number[]>> {
  const { running } = herald;
  const services = running.services;
  const accountId = (await services.accounts.defaultAccountId())!;
  const endpoints: EndpointId[] = [];
  for (let i = 0; i < 4; i++) {
    const { endpoint } = await services.endpoints.create(accountId, null, {
      url: `http://127.0.0.1:9/listener-${i}`,
      events: ['*'],
      description: `bench listener ${i}`,
      auth: { type: 'NONE' },
      customHeaders: [],
      options: DEFAULT_ENDPOINT_OPTIONS,
      signing: true,
    });
    endpoints.push(endpoint.id);
  }
  const now = Date.now();
  const seeding = Date.now();
  await seed(running.store, accountId, endpoints, now);
  log(`seeded ${DELIVERIES} deliveries in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
  const settling = Date.now();
  await settle(running.store, now);
  log(`worked them in ${((Date.now() - settling) / 1000).toFixed(1)} s`);
  await afterSeeding();

  const some = await services.deliveries.list({ accountId, status: 'failed' }, null, 1);
  const delivery = some.data[0]!;
  const pages: Array<[string, string, 'account' | 'operator']> = [
    ['Overview', '/', 'account'],
    ['Endpoints', '/endpoints', 'account'],
    ['Endpoint', `/endpoints/${endpoints[0]}`, 'account'],
    ['Deliveries', '/deliveries', 'account'],
    ['Deliveries, failed', '/deliveries?status=failed', 'account'],
    ['Deliveries, held', '/deliveries?status=held', 'account'],
    ['Deliveries, pending', '/deliveries?status=pending', 'account'],
    ['Deliveries, one endpoint', `/deliveries?endpoint=${endpoints[1]}`, 'account'],
    ['Deliveries, event name', '/deliveries?event=SIGNER_COMPLETE', 'account'],
    ['Deliveries, package id', '/deliveries?package=pkg-4242', 'account'],
    ['Delivery', `/deliveries/${delivery.id}`, 'account'],
    ['Events', '/events', 'account'],
    ['Events, package id', '/events?package=pkg-4242', 'account'],
    ['Events, name', '/events?name=DOCUMENT_SIGNED', 'account'],
    ['Event', `/events/${delivery.eventId}`, 'account'],
    ['Overview, all accounts (operator)', '/', 'operator'],
    ['Accounts (operator)', '/accounts', 'operator'],
  ];
  const cookies = {
    account: await signIn(running.url, BENCH_API_KEY),
    operator: await signIn(running.url, ADMIN_KEY),
  };
  const perPage = new Map<string, number[]>();
  const timeAll = async (record: boolean) => {
    for (const [name, path, who] of pages) {
      const times: number[] = [];
      for (let i = 0; i < REQUESTS_PER_RUN; i++) {
        times.push(await serverTime(`${running.url}/console${path}`, cookies[who]));
      }
      times.sort((a, b) => a - b);
      if (record) perPage.set(name, [...(perPage.get(name) ?? []), percentileOfSorted(times, 95)]);
    }
  };
  await timeAll(false);
  for (let run = 0; run < runs; run++) {
    await timeAll(true);
    const slowest = Math.max(...[...perPage.values()].map((r) => r.at(-1)!));
    log(`run ${run + 1}: slowest page p95 ${slowest.toFixed(1)} ms`);
  }
  return perPage;
}

export const consolePages: Scenario = {
  name: 'console',
  title: `Console pages with ${DELIVERIES.toLocaleString('en-US')} deliveries in the store`,
  timeoutMs: (o) => 20 * 60_000 + o.runs * 120_000,

  async run({ options, scope, log }) {
    const metrics: Metric[] = [];
    const add = (store: string, perPage: Map<string, number[]>) => {
      for (const [name, runs] of perPage) {
        metrics.push(
          metric(`${store}: ${name}, p95`, 'ms', runs, {
            target: { of: 'value', op: '<=', value: BUDGET_MS },
          }),
        );
      }
    };
    const env = { HERALD_ROLE: 'api', HERALD_ADMIN_KEY: ADMIN_KEY };
    const embedded = scope.add('herald', await startInProcessHerald(env));
    add('SQLite', await measure(embedded, options.runs, (l) => log(`SQLite: ${l}`)));
    await embedded.close();
    const url = databaseUrl();
    if (url) {
      const db = scope.add('scratch database', await createScratchDatabase(url, 1));
      const shared = scope.add(
        'herald on PostgreSQL',
        await startInProcessHerald({
          ...env,
          HERALD_DATABASE_URL: db.url,
          HERALD_MASTER_KEY: generateMasterKey(),
        }),
      );
      add(
        'PostgreSQL',
        await measure(
          shared,
          options.runs,
          (l) => log(`PostgreSQL: ${l}`),
          () => analyzeDatabase(db.url),
        ),
      );
      await shared.close();
    } else {
      log('no PostgreSQL database named (HERALD_BENCH_DATABASE_URL): measured on SQLite only');
    }
    return {
      method:
        `Herald in the runner process (role api; the embedded store, then PostgreSQL in a scratch ` +
        `database when HERALD_BENCH_DATABASE_URL or HERALD_TEST_DATABASE_URL names one) seeded with ` +
        `${(DELIVERIES / FAN_OUT).toLocaleString('en-US')} events over the last 24 h, each to 2 of 4 ` +
        `endpoints (${DELIVERIES.toLocaleString('en-US')} deliveries, 1 in 20 held), the others worked ` +
        `once through claims and results (85 % succeeded, 10 % failed, 5 % to retry); on PostgreSQL, ` +
        `ANALYZE after seeding, as autovacuum would after such a load. Per run each page ` +
        `is requested ${REQUESTS_PER_RUN} times in turn with a signed-in session; the figure is the ` +
        `95th percentile of the server time the page reports in its Server-Timing header.`,
      metrics,
      details: {
        deliveries: DELIVERIES,
        requestsPerRun: REQUESTS_PER_RUN,
        postgres: url !== undefined,
      },
    };
  },
};
