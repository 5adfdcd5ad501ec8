// The producer against a real HTTP server on loopback that answers as each test scripts it:
// retries keep their Idempotency-Key, Retry-After is honoured, refusals are not retried.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  HeraldClient,
  HeraldConnectionError,
  HeraldRequestError,
  retryAfterMs,
} from '../src/index.js';

interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise((resolve) => s.close(resolve));
});

/** A server that gives `answers` in turn and records what it was sent. */
async function scripted(answers: Answer[]) {
  const seen: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen };
}

function client(url: string, waits: number[], maxTries = 4) {
  return new HeraldClient({
    url,
    apiKey: 'key-123',
    maxTries,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
}

const accepted: Answer = { status: 202, body: '{"id":"evt_1"}' };
const event = { name: 'PACKAGE_COMPLETE', packageId: 'p-1' };

describe('HeraldClient.publish', () => {
  it('retries 503 and 429 with the same Idempotency-Key, waiting as Retry-After says', async () => {
    // A whole second (an HTTP date has no milliseconds) 5 to 6 seconds from now.
    const later = new Date(Math.ceil((Date.now() + 5_000) / 1000) * 1000).toUTCString();
    const { url, seen } = await scripted([
      { status: 503, headers: { 'retry-after': '2' }, body: '{"code":"store_unavailable"}' },
      { status: 429, headers: { 'retry-after': later } },
      accepted,
    ]);
    const waits: number[] = [];
    expect(await client(url, waits).publish(event)).toBe('evt_1');
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.headers['idempotency-key'])).size).toBe(1);
    expect(seen[0]!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.every((s) => s.headers.authorization === 'Bearer key-123')).toBe(true);
    expect(JSON.parse(seen[0]!.body)).toEqual(event);
    expect(waits[0]).toBe(2000);
    // An HTTP date: 5 to 6 seconds from when it was written, less the time since.
    expect(waits[1]).toBeGreaterThan(2000);
    expect(waits[1]).toBeLessThanOrEqual(6000);
  });

  it('backs off exponentially without Retry-After, and sends the caller’s key', async () => {
    const { url, seen } = await scripted([{ status: 502 }, { status: 503 }, accepted]);
    const waits: number[] = [];
    await client(url, waits).publish(event, { idempotencyKey: 'mine-1' });
    expect(seen.map((s) => s.headers['idempotency-key'])).toEqual(['mine-1', 'mine-1', 'mine-1']);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(125);
    expect(waits[0]).toBeLessThanOrEqual(250);
    expect(waits[1]).toBeGreaterThanOrEqual(250);
    expect(waits[1]).toBeLessThanOrEqual(500);
  });

  it('does not retry a refusal, and reports its stable code', async () => {
    const { url, seen } = await scripted([
      {
        status: 400,
        body: '{"code":"invalid_event","detail":"name: not an event name","status":400}',
      },
    ]);
    const error = await client(url, [])
      .publish(event)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_event', retryable: false });
    expect((error as Error).message).toBe('name: not an event name');
    expect(seen).toHaveLength(1);
  });

  it('gives up after maxTries with the last answer', async () => {
    const { url, seen } = await scripted([{ status: 503 }]);
    const waits: number[] = [];
    const error = await client(url, waits, 3)
      .publish(event)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(seen).toHaveLength(3);
    expect(waits).toHaveLength(2);
  });

  it('retries when Herald cannot be reached, then says so', async () => {
    const { url } = await scripted([accepted]);
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const waits: number[] = [];
    const error = await client(url, waits, 2)
      .publishBatch([event])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldConnectionError);
    expect((error as Error).message).toMatch(/Cannot reach Herald at http:\/\/127\.0\.0\.1/);
    expect(waits).toHaveLength(1);
  });

  it('publishes a batch and returns its ids in order', async () => {
    const { url, seen } = await scripted([{ status: 202, body: '{"ids":["evt_a","evt_b"]}' }]);
    expect(await client(url, []).publishBatch([event, event])).toEqual(['evt_a', 'evt_b']);
    expect(JSON.parse(seen[0]!.body)).toHaveLength(2);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(retryAfterMs(new Date(now - 5000).toUTCString(), now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
