// Tried from outside: a real `herald serve` on PostgreSQL, reached through a loopback TCP relay,
// publishing 3,000 events in batches (publishers retry on 503 as docs/operations.md says) while it
// delivers them to a loopback listener; a third of the way in, the relay drops every connection
// and refuses new ones for 5 s. Reports whether the process stayed up and whether every event was
// accepted and delivered. Bounded (2 minutes at most), loopback only, its own schema.
//
//   npm run build && HERALD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//     npx tsx scripts/probe-pg-outage.ts

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMasterKey } from '../src/services/secret-box.js';
import { startListener } from '../tests/helpers/listener.js';
import { createTestSchema, postgresMissing, TEST_DATABASE_URL } from '../tests/helpers/postgres.js';
import { startServer } from '../tests/helpers/process.js';
import { startRelay } from '../tests/helpers/relay.js';

const EVENTS = 3000;
const BATCH = 50;
const PUBLISHERS = 4;
const OUTAGE_MS = 5000;
const DEADLINE_MS = 120_000;
const API_KEY = 'probe-api-key-0123456789abcdef';

if (postgresMissing) {
  console.error(postgresMissing);
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const at = () => Date.now() - started;

const schema = await createTestSchema();
const direct = new URL(TEST_DATABASE_URL!);
const relay = await startRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
const delivered = new Map<string, number>();
const listener = await startListener((request) => {
  const { packageId } = JSON.parse(request.body) as { packageId: string };
  delivered.set(packageId, (delivered.get(packageId) ?? 0) + 1);
  return { status: 200 };
});
const url = new URL(relay.via(schema.url));
url.searchParams.set('application_name', `herald-probe-${randomBytes(4).toString('hex')}`);
const dataDir = mkdtempSync(join(tmpdir(), 'herald-probe-'));
const herald = await startServer(['--database', url.toString(), '--port', '0'], {
  HERALD_HOST: '127.0.0.1',
  HERALD_DATA_DIR: dataDir,
  HERALD_MASTER_KEY: generateMasterKey(),
  HERALD_API_KEY: API_KEY,
  HERALD_ALLOW_PRIVATE_NETWORK: '1',
  HERALD_LOG_LEVEL: 'warn',
});
const api = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${herald.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const report: Record<string, unknown> = {};
try {
  const created = await api('/v1/endpoints', {
    url: `${listener.url}/hook`,
    events: ['PACKAGE_COMPLETE'],
  });
  if (created.status !== 201)
    throw new Error(`endpoint: ${created.status} ${await created.text()}`);

  let accepted = 0;
  let unavailable = 0;
  let otherAnswers = 0;
  let outage: Promise<void> | null = null;
  let readyDuring: number | null = null;
  const batches = Array.from({ length: EVENTS / BATCH }, (_, i) => i);
  const publisher = async (): Promise<void> => {
    for (let b = batches.shift(); b !== undefined; b = batches.shift()) {
      const events = Array.from({ length: BATCH }, (_, i) => ({
        name: 'PACKAGE_COMPLETE',
        packageId: `p${b}-${i}`,
      }));
      for (;;) {
        if (at() > DEADLINE_MS) throw new Error('publishing did not finish in time');
        const res = await api('/v1/events', events, { 'idempotency-key': `probe-${b}` });
        await res.arrayBuffer();
        if (res.status === 202) break;
        if (res.status === 503) {
          unavailable++;
          // As producers are told: wait Retry-After seconds, then send the same batch again.
          await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
          continue;
        }
        otherAnswers++;
        await sleep(500);
      }
      accepted += BATCH;
      if (!outage && accepted >= EVENTS / 3) {
        outage = (async () => {
          report.cutAtMs = at();
          report.acceptedAtCut = accepted;
          report.deliveredAtCut = delivered.size;
          relay.cut();
          await sleep(OUTAGE_MS / 2);
          readyDuring = (await fetch(`${herald.url}/readyz`)).status;
          await sleep(OUTAGE_MS / 2);
          relay.restore();
          report.restoredAtMs = at();
        })();
      }
    }
  };
  await Promise.all(Array.from({ length: PUBLISHERS }, publisher));
  await outage;
  report.publishedAtMs = at();
  while (delivered.size < EVENTS && at() < DEADLINE_MS) await sleep(100);
  report.allDeliveredAtMs = delivered.size === EVENTS ? at() : null;
  const readyAfter = (await fetch(`${herald.url}/readyz`)).status;
  Object.assign(report, {
    processAlive: herald.child.exitCode === null && herald.child.signalCode === null,
    safetyNetReached: herald.output().includes('safety net'),
    accepted,
    answered503: unavailable,
    otherNon202: otherAnswers,
    deliveredDistinct: delivered.size,
    deliveredTwice: [...delivered.values()].filter((n) => n > 1).length,
    readyzDuringOutage: readyDuring,
    readyzAfter: readyAfter,
    relayConnections: relay.accepted,
  });
} finally {
  await herald.stop();
  await relay.close();
  await listener.close();
  await schema.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(report, null, 2));
const ok =
  report.processAlive === true &&
  report.accepted === EVENTS &&
  report.deliveredDistinct === EVENTS &&
  report.safetyNetReached === false;
process.exit(ok ? 0 : 1);
