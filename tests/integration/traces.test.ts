// Traces over OTLP/HTTP to a receiver on loopback, as JSON and as protobuf: the publish request
// (a child of the producer's `traceparent`), the ingest commit, each delivery attempt (an HTTP
// client span whose `traceparent` the listener receives) and the token request an OAuth delivery
// needs, all in one trace. Off when no endpoint is set: no SDK loaded, no `traceparent` sent.

import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { sandboxSalesforceKey } from '../helpers/salesforce.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;
const APEX_PATH = '/services/apexrest/herald/events';
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

describe('traces', () => {
  let herald: TestHerald | undefined;
  let listener: Listener | undefined;
  let receiver: OtlpReceiver | undefined;
  let sandbox: Sandbox | undefined;
  afterEach(async () => {
    await herald?.close();
    await listener?.close();
    await receiver?.close();
    await sandbox?.close();
    herald = listener = receiver = sandbox = undefined;
  });

  it('off without OTEL_EXPORTER_OTLP_ENDPOINT: no SDK loaded, no traceparent sent', async () => {
    herald = await startTestHerald();
    listener = await startListener();
    await herald.api('POST', '/v1/endpoints', {
      url: `${listener.url}/off`,
      events: ['PACKAGE_CREATE'],
    });
    await herald.api(
      'POST',
      '/v1/events',
      { name: 'PACKAGE_CREATE', packageId: 'p' },
      { headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` } },
    );
    const [received] = await listener.waitFor(1);
    expect(received!.headers.traceparent).toBeUndefined();
    // Nothing of the SDK, the exporters or the context manager. (The API package alone may be:
    // prom-client's default process metrics load it when it is installed, for exemplars.)
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(
      loaded.filter(
        (path) => path.includes('@opentelemetry') && !path.includes('@opentelemetry/api/'),
      ),
    ).toEqual([]);
  });

  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    it(`${protocol}: publish, commit, attempts and token request in the producer's trace`, async () => {
      receiver = await startOtlpReceiver();
      listener = await startListener();
      sandbox = await startSandbox();
      herald = await startTestHerald({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: 'herald-under-test',
      });
      await herald.api('POST', '/v1/endpoints', {
        url: `${listener.url}/hook?token=url-secret`,
        events: ['PACKAGE_COMPLETE'],
        auth: { type: 'BASIC', key: 'basic-secret-123' },
      });
      const refreshToken = sandbox.issueRefreshToken();
      const key = sandboxSalesforceKey(sandbox, refreshToken);
      const reg = await herald.api('POST', '/api/callback/connectors/salesforceOauth2', {
        url: `${sandbox.url}${APEX_PATH}`,
        key,
        events: ['PACKAGE_COMPLETE'],
      });
      expect(reg.status, reg.text).toBe(200);

      const traceId = 'a1'.repeat(16);
      const producerSpan = 'b2'.repeat(8);
      const published = await herald.api(
        'POST',
        '/v1/events',
        { name: 'PACKAGE_COMPLETE', packageId: 'traced' },
        { headers: { traceparent: `00-${traceId}-${producerSpan}-01` } },
      );
      expect(published.status).toBe(202);

      // The listeners can continue the trace: a valid traceparent in the producer's trace.
      const [atListener] = await listener.waitFor(1);
      const fromListener = TRACEPARENT.exec(String(atListener!.headers.traceparent));
      expect(fromListener?.[1]).toBe(traceId);
      await eventually(() => (sandbox!.received.length > 0 ? true : undefined));
      const fromSalesforce = TRACEPARENT.exec(String(sandbox.received[0]!.headers.traceparent));
      expect(fromSalesforce?.[1]).toBe(traceId);

      const inTrace = (): ReceivedSpan[] => receiver!.spans.filter((s) => s.traceId === traceId);
      const spans = await eventually(
        () => {
          const got = inTrace();
          const attempts = got.filter(
            (s) => s.kind === CLIENT && s.attributes['herald.delivery.id'],
          );
          const tokens = got.filter((s) => s.kind === CLIENT && s.attributes['herald.oauth.grant']);
          return attempts.length === 2 && tokens.length === 1 ? got : undefined;
        },
        15_000,
        'the spans of the publish, its attempts and the token request',
      );
      const publish = spans.find((s) => s.kind === SERVER)!;
      expect(publish).toMatchObject({
        name: 'POST /v1/events',
        parentSpanId: producerSpan,
        serviceName: 'herald-under-test',
        attributes: { 'http.route': '/v1/events', 'http.response.status_code': 202 },
      });
      const commit = spans.find((s) => s.kind === INTERNAL)!;
      expect(commit).toMatchObject({ name: 'ingest commit', parentSpanId: publish.spanId });
      const attempts = spans.filter((s) => s.kind === CLIENT && s.attributes['herald.delivery.id']);
      for (const attempt of attempts) {
        expect(attempt.parentSpanId).toBe(publish.spanId);
        expect(attempt.attributes).toMatchObject({
          'http.request.method': 'POST',
          'http.response.status_code': 200,
          'herald.attempt.outcome': 'success',
        });
      }
      // What the listener received names the span of its own attempt.
      const toListener = attempts.find((s) => String(s.attributes['url.full']).includes('/hook'))!;
      expect(toListener.spanId).toBe(fromListener?.[2]);
      expect(toListener.attributes['url.full']).toBe(`${listener.url}/hook`);
      const toSalesforce = attempts.find((s) => s !== toListener)!;
      expect(toSalesforce.spanId).toBe(fromSalesforce?.[2]);
      const token = spans.find((s) => s.attributes['herald.oauth.grant'])!;
      expect(token).toMatchObject({
        kind: CLIENT,
        parentSpanId: toSalesforce.spanId,
        attributes: {
          'herald.oauth.grant': 'refresh_token',
          'herald.oauth.outcome': 'success',
          'url.full': `${sandbox.url}/services/oauth2/token`,
        },
      });
      const everything = JSON.stringify(receiver.spans);
      for (const secret of ['url-secret', 'basic-secret-123', refreshToken]) {
        expect(everything).not.toContain(secret);
      }
      expect(receiver.contentTypes[0]).toBe(
        protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
      );
    });
  }

  it('a publish without traceparent starts a trace of its own; failed attempts are errors', async () => {
    receiver = await startOtlpReceiver();
    listener = await startListener(() => ({ status: 503 }));
    herald = await startTestHerald({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      HERALD_RETRY_SCHEDULE: '0s',
    });
    await herald.api('POST', '/v1/endpoints', { url: listener.url, events: ['PACKAGE_CREATE'] });
    await herald.api('POST', '/v1/events', { name: 'PACKAGE_CREATE', packageId: 'root' });
    const [first] = await listener.waitFor(2);
    const traceId = TRACEPARENT.exec(String(first!.headers.traceparent))![1]!;
    const spans = await eventually(() => {
      const got = receiver!.spans.filter((s) => s.traceId === traceId);
      return got.filter((s) => s.kind === CLIENT).length === 2 ? got : undefined;
    });
    expect(spans.find((s) => s.kind === SERVER)?.parentSpanId).toBe('');
    for (const attempt of spans.filter((s) => s.kind === CLIENT)) {
      expect(attempt.statusCode).toBe(2);
      expect(attempt.attributes).toMatchObject({
        'http.response.status_code': 503,
        'error.type': '503',
      });
    }
  });
});
