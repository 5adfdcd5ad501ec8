// Tried from outside: a real `herald serve` (the built CLI) with HERALD_SMTP_URL on a loopback
// SMTP server, HERALD_RETENTION=2s and OTEL_EXPORTER_OTLP_ENDPOINT on a loopback OTLP receiver.
// A listener answering 410 and a Salesforce (sandbox) endpoint whose grant is dead must each
// produce an email naming the endpoint, with no secret in it; an endpoint subscribed to
// endpoint.disabled and endpoint.reauthorization_required that fails twice then accepts must
// receive both, signed with its own secret; finished deliveries must answer 404 within about a
// minute while held ones stay; spans must arrive (protobuf, then JSON in a second server) and
// listeners must get a valid traceparent. Bounded, loopback only.
//
//   npm run build && npx tsx scripts/probe-operations.ts

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { startSandbox } from '../src/sandbox/index.js';
import { startListener } from '../tests/helpers/listener.js';
import { startOtlpReceiver } from '../tests/helpers/otlp.js';
import { startServer } from '../tests/helpers/process.js';
import { sandboxSalesforceKey } from '../tests/helpers/salesforce.js';
import { startSmtpServer } from '../tests/helpers/smtp.js';

const KEY = 'probe-ops-key-0123456789abcdef';
const CONTACT = 'integrations@acme.test';
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;
const started = Date.now();
const at = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
let failures = 0;
const check = (ok: boolean, what: string): void => {
  if (!ok) failures++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what} (${at()})`);
};
async function until<T>(
  what: string,
  get: () => Promise<T | undefined> | T | undefined,
  ms = 90_000,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await get();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  check(false, `timed out waiting for ${what}`);
  return undefined;
}

const smtp = await startSmtpServer();
const otlp = await startOtlpReceiver();
const gone = await startListener(() => ({ status: 410 }));
const ok = await startListener(() => ({ status: 204 }));
let opsCalls = 0;
const ops = await startListener(() => ({ status: ++opsCalls <= 2 ? 503 : 204 }));
const sandbox = await startSandbox({ rotation: true });
const dataDir = mkdtempSync(join(tmpdir(), 'herald-probe-ops-'));
const jsonDir = mkdtempSync(join(tmpdir(), 'herald-probe-ops-json-'));
const env = {
  HERALD_HOST: '127.0.0.1',
  HERALD_API_KEY: KEY,
  HERALD_ALLOW_PRIVATE_NETWORK: '1',
  HERALD_LOG_LEVEL: 'warn',
  HERALD_RETRY_SCHEDULE: '300ms,300ms',
  HERALD_RETENTION: '2s',
  HERALD_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
  HERALD_ALERT_FROM: 'Herald <herald@acme.test>',
  HERALD_PUBLIC_URL: 'http://127.0.0.1:1',
  OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
};
const herald = await startServer(['--port', '0', '--data-dir', dataDir], env);
const call = async (method: string, path: string, body?: unknown, url = herald.url) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // Answers are read loosely, as a person trying the API would.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
};

try {
  await call('PATCH', '/v1/account', { contactEmail: CONTACT });
  const opsEp = await call('POST', '/v1/endpoints', {
    url: `${ops.url}/ops`,
    events: ['endpoint.disabled', 'endpoint.reauthorization_required'],
  });
  const goneEp = await call('POST', '/v1/endpoints', {
    url: `${gone.url}/gone`,
    events: ['PACKAGE_COMPLETE'],
    auth: { type: 'BASIC', key: 'basic-secret-410' },
  });
  const okEp = await call('POST', '/v1/endpoints', {
    url: `${ok.url}/ok`,
    events: ['PACKAGE_COMPLETE'],
  });
  const refreshToken = sandbox.issueRefreshToken();
  const sfKey = sandboxSalesforceKey(sandbox, refreshToken);
  await call('POST', '/api/callback/connectors/salesforceOauth2', {
    url: `${sandbox.url}/services/apexrest/herald/events`,
    key: sfKey,
    events: ['PACKAGE_COMPLETE'],
  });
  const sfEp = (await call('GET', '/v1/endpoints')).body.data.find(
    (e: { origin: string | null }) => e.origin === 'salesforceOauth2',
  );
  sandbox.revokeAllGrants();
  const first = await call('POST', '/v1/events', {
    name: 'PACKAGE_COMPLETE',
    packageId: 'probe-1',
  });
  check(first.status === 202, `published (${first.status})`);

  // Emails: one for the 410, one for the dead grant; each names its endpoint, no secret.
  await until('two emails', () => (smtp.received.length >= 2 ? true : undefined));
  const mails = smtp.received;
  const about = (id: string) => mails.find((m) => m.text.includes(id));
  const m410 = about(goneEp.body.id);
  const mSf = about(sfEp.id);
  check(
    !!m410 && m410.to[0] === CONTACT && /Endpoint disabled/.test(m410.subject),
    `410 email: "${m410?.subject}"`,
  );
  check(
    !!mSf && mSf.to[0] === CONTACT && /Reconnect needed/.test(mSf.subject),
    `dead grant email: "${mSf?.subject}"`,
  );
  const secrets = [
    KEY,
    'basic-secret-410',
    refreshToken,
    sfKey,
    opsEp.body.signingSecret as string,
  ];
  check(
    mails.every((m) => secrets.every((s) => !m.raw.includes(s))),
    'no secret in any email',
  );

  // The subscriber: failed twice, then accepted; both types, signed with its own secret.
  await until('both operational events at the subscriber', () => {
    const accepted = ops.received.slice(2);
    const types = new Set(accepted.map((r) => (JSON.parse(r.body) as { type: string }).type));
    return types.size >= 2 ? true : undefined;
  });
  const wh = new Webhook(opsEp.body.signingSecret as string);
  const verified = ops.received.map((r) => {
    try {
      return (
        wh.verify(
          r.body,
          Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)])),
        ) as { type: string }
      ).type;
    } catch {
      return 'BAD SIGNATURE';
    }
  });
  check(
    opsCalls >= 4 &&
      verified.includes('endpoint.disabled') &&
      verified.includes('endpoint.reauthorization_required') &&
      !verified.includes('BAD SIGNATURE'),
    `subscriber got ${opsCalls} requests (2 refused), verified types: ${[...new Set(verified)].join(', ')}`,
  );

  // Retention 2 s: the delivery to the 200 listener goes; one held (disabled endpoint) stays.
  const okDelivery = (await call('GET', `/v1/deliveries?endpoint=${okEp.body.id}`)).body.data[0];
  await call('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'probe-held' });
  const held = (await call('GET', `/v1/deliveries?endpoint=${goneEp.body.id}&status=held`)).body
    .data[0];
  const t0 = Date.now();
  await until('the finished delivery to answer 404', async () =>
    (await call('GET', `/v1/deliveries/${okDelivery.id}`)).status === 404 ? true : undefined,
  );
  check(
    true,
    `finished delivery ${okDelivery.id} answered 404 after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const stillHeld = await call('GET', `/v1/deliveries/${held.id}`);
  check(
    stillHeld.status === 200 && stillHeld.body.status === 'held',
    `held delivery still there (${stillHeld.body?.status})`,
  );

  // Traces (protobuf, the default): spans arrived; listeners got a valid traceparent.
  await until('spans', () => (otlp.spans.length > 0 ? true : undefined));
  check(
    otlp.contentTypes.every((t) => t === 'application/x-protobuf'),
    `protobuf spans: ${otlp.spans.length}, kinds ${[...new Set(otlp.spans.map((s) => s.name))].join(', ')}`,
  );
  const tp = String(ok.received[0]?.headers.traceparent);
  check(TRACEPARENT.test(tp), `listener traceparent ${tp}`);
} finally {
  await herald.stop();
}

// A second server sending JSON spans.
const before = otlp.spans.length;
const json = await startServer(['--port', '0', '--data-dir', jsonDir], {
  ...env,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  HERALD_SMTP_URL: '',
});
try {
  const ep = await call(
    'POST',
    '/v1/endpoints',
    { url: `${ok.url}/json`, events: ['PACKAGE_CREATE'] },
    json.url,
  );
  await call('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'probe-json' }, json.url);
  await until('a delivery and JSON spans', () =>
    ok.received.some((r) => r.path === '/json') && otlp.spans.length > before ? true : undefined,
  );
  const tp = String(ok.received.find((r) => r.path === '/json')?.headers.traceparent);
  check(
    otlp.contentTypes.at(-1) === 'application/json' && TRACEPARENT.test(tp),
    `JSON spans: ${otlp.spans.length - before}, listener traceparent ${tp} (${ep.status})`,
  );
} finally {
  await json.stop();
  for (const c of [smtp, otlp, gone, ok, ops, sandbox]) await c.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(jsonDir, { recursive: true, force: true });
}
console.log(failures === 0 ? `all checks passed in ${at()}` : `${failures} checks failed`);
process.exit(failures === 0 ? 0 : 1);
