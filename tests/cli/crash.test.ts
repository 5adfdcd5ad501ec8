// kill -9 of `herald serve`, then a restart on the same data dir: while thousands of deliveries
// are in flight, while publishers are sending, and between a token rotation and the first use of
// the new token, and while deliveries handed straight from single-event publishes to the worker
// are in flight. Every event answered 202 is delivered (duplicates allowed, and counted), and a
// rotated refresh token survives.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { generateMasterKey, SecretBox } from '../../src/services/secret-box.js';
import { eventually } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { startServer, type ServerProcess } from '../helpers/process.js';
import {
  refreshTokenAuth,
  rotatingGrant,
  SESSION_EXPIRED,
  startTokenEndpoint,
  type TokenEndpoint,
} from '../helpers/token-endpoint.js';

const KEY = 'crash-test-key-0123456789';
const EVENTS = 4000;

describe('crash safety', () => {
  let dataDir = '';
  let listener: Listener | undefined;
  let server: ServerProcess | undefined;
  let tokens: TokenEndpoint | undefined;
  afterEach(async () => {
    await server?.kill9().catch(() => undefined);
    await listener?.close();
    await tokens?.close();
    server = listener = tokens = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    HERALD_API_KEY: KEY,
    HERALD_LOG_LEVEL: 'warn',
    ...extra,
  });
  const serve = (extra: Record<string, string> = {}) =>
    startServer(['--port', '0', '--data-dir', dataDir, '--allow-private-network'], env(extra));
  const call = (path: string, body: unknown) =>
    fetch(`${server!.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
    });
  const delivered = () => new Set(listener!.received.map((r) => String(r.headers['webhook-id'])));

  async function register(url: string, auth: Record<string, unknown> = {}): Promise<string> {
    const res = await call('/v1/endpoints', { url, events: ['DOCUMENT_SIGNED'], ...auth });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  /** After the restart: waits until every id is delivered; returns the ones missing at the end. */
  async function missingAfterRestart(published: ReadonlySet<string>): Promise<string[]> {
    await eventually(
      () => ([...published].every((id) => delivered().has(id)) ? true : undefined),
      60_000,
      `all ${published.size} events answered 202 delivered`,
    ).catch(() => undefined);
    const ids = delivered();
    return [...published].filter((id) => !ids.has(id));
  }

  it(`delivers all ${EVENTS} events across a kill -9 and a restart`, async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-crash-'));
    listener = await startListener(() => ({ status: 200, delayMs: 5 }));
    server = await serve();
    await register(listener.url, { auth: { type: 'BASIC', key: 'ck-123456' } });
    const published = new Set<string>();
    for (let b = 0; b < EVENTS / 1000; b++) {
      const batch = Array.from({ length: 1000 }, (_, i) => ({
        name: 'DOCUMENT_SIGNED',
        packageId: `pkg-${b}-${i}`,
        documentId: 'doc',
      }));
      const res = await call('/v1/events', batch);
      expect(res.status).toBe(202);
      for (const id of ((await res.json()) as { ids: string[] }).ids) published.add(id);
    }
    await listener.waitFor(300);
    await server.kill9();
    const beforeRestart = delivered().size;
    expect(beforeRestart).toBeLessThan(EVENTS);

    server = await serve();
    const missing = await missingAfterRestart(published);
    console.log(
      `crash test: ${EVENTS} events, ${beforeRestart} delivered before kill -9, ${listener.received.length - delivered().size} duplicates after restart`,
    );
    expect(missing).toEqual([]);
    expect(await server.stop()).toBe(0);
  }, 120_000);

  it('delivers every event answered 202 when killed while publishers are sending', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-crash-'));
    listener = await startListener();
    server = await serve();
    await register(listener.url);
    // Four publishers send batches of 250 back to back; the kill comes as the 12th batch is
    // answered, with the other publishers' batches on their way in or committing.
    const answered = new Set<string>();
    let batches = 0;
    let killed: Promise<void> | undefined;
    const publisher = async (p: number) => {
      for (let b = 0; killed === undefined; b++) {
        const batch = Array.from({ length: 250 }, (_, i) => ({
          name: 'DOCUMENT_SIGNED',
          packageId: `pub-${p}-${b}-${i}`,
        }));
        const res = await call('/v1/events', batch).catch(() => undefined);
        if (res?.status !== 202) return;
        const body = (await res.json().catch(() => undefined)) as { ids: string[] } | undefined;
        if (!body) return; // the answer was cut off: not an acknowledgement
        for (const id of body.ids) answered.add(id);
        if (++batches === 12) killed = server!.kill9();
      }
    };
    await Promise.all([0, 1, 2, 3].map(publisher));
    await killed;
    const beforeRestart = delivered().size;

    server = await serve();
    const missing = await missingAfterRestart(answered);
    console.log(
      `crash during ingest: ${answered.size} events answered 202 (${batches} batches) before kill -9, ${beforeRestart} delivered before it`,
    );
    expect(answered.size).toBeGreaterThanOrEqual(12 * 250);
    expect(missing).toEqual([]);
    expect(await server.stop()).toBe(0);
  }, 120_000);

  it('delivers every event answered 202 after a kill -9 with handed-over deliveries in flight', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-crash-'));
    // Single-event publishes to an idle worker go to it by handover (inserted already leased).
    // From its 300th request the listener answers nothing: the endpoint's lane fills (32 in
    // flight, then more handed over to wait in memory), and the kill comes with 32 held and the
    // publishers still sending.
    let handedOver = -1;
    let killed: Promise<void> | undefined;
    listener = await startListener((_request, index) => {
      if (killed !== undefined) return { status: 200 };
      if (index < 300) return { status: 200 };
      if (index === 300 + 31) {
        killed = (async () => {
          const text = await fetch(`${server!.url}/metrics`).then((r) => r.text());
          const line = /^herald_deliveries_handed_over_total (\d+)$/m.exec(text);
          handedOver = line ? Number(line[1]) : -1;
          await server!.kill9();
        })();
      }
      return new Promise(() => undefined);
    });
    server = await serve();
    await register(listener.url);
    const answered = new Set<string>();
    const publisher = async (p: number) => {
      for (let n = 0; killed === undefined && n < 10_000; n++) {
        const res = await call('/v1/events', {
          name: 'DOCUMENT_SIGNED',
          packageId: `single-${p}-${n}`,
        }).catch(() => undefined);
        if (res?.status !== 202) return;
        const body = (await res.json().catch(() => undefined)) as { id: string } | undefined;
        if (!body) return; // the answer was cut off: not an acknowledgement
        answered.add(body.id);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, p) => publisher(p)));
    expect(killed, 'the listener got its 331st request').toBeDefined();
    await killed;
    const beforeRestart = delivered().size;
    expect(handedOver).toBeGreaterThan(0);

    server = await serve();
    const missing = await missingAfterRestart(answered);
    console.log(
      `crash with handover: ${answered.size} single events answered 202, ${handedOver} handed over and ${beforeRestart} delivered before kill -9, ${listener.received.length - delivered().size} duplicates`,
    );
    expect(answered.size).toBeGreaterThanOrEqual(300);
    expect(missing).toEqual([]);
    expect(await server.stop()).toBe(0);
  }, 120_000);

  it('loses neither the grant nor the event when killed between a token rotation and its first use', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-crash-'));
    const masterKey = generateMasterKey();
    const box = SecretBox.fromText(masterKey);
    const grant = rotatingGrant('rt-0');
    tokens = await startTokenEndpoint(grant.script);
    // What the data dir held, read by a connection of the test's own, when at-1 first arrived.
    let storedAtFirstUse: string | null | undefined;
    let killed: Promise<void> | undefined;
    listener = await startListener((request) => {
      const bearer = String(request.headers.authorization).replace(/^Bearer /, '');
      if (killed === undefined) {
        const db = new Database(join(dataDir, 'herald.db'), { readonly: true });
        try {
          const row = db.prepare('SELECT refresh_token FROM oauth_tokens').get() as
            { refresh_token: string | null } | undefined;
          storedAtFirstUse = row?.refresh_token ? box.open(row.refresh_token) : null;
        } finally {
          db.close();
        }
        // The process dies with the new token on the wire: the delivery never hears back.
        killed = server!.kill9();
        return new Promise(() => undefined);
      }
      // After the restart the session has ended: the stored refresh token must do.
      return bearer === 'at-1' ? SESSION_EXPIRED : { status: 200 };
    });
    server = await serve({ HERALD_MASTER_KEY: masterKey });
    await register(listener.url, { auth: refreshTokenAuth(tokens.url) });
    const res = await call('/v1/events', { name: 'DOCUMENT_SIGNED', packageId: 'rotated' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await eventually(() => (killed ? true : undefined), 20_000, 'the first use of the new token');
    await killed;
    expect(storedAtFirstUse).toBe('rt-1');

    server = await serve({ HERALD_MASTER_KEY: masterKey });
    await eventually(
      () =>
        listener!.received.some((r) => r.headers.authorization === 'Bearer at-2')
          ? true
          : undefined,
      20_000,
      'the event delivered with a token refreshed after the restart',
    );
    expect(listener.received.map((r) => String(r.headers['webhook-id']))).toEqual([id, id, id]);
    // The restarted process refreshed with the rotated token it had stored: the grant lives.
    expect(tokens.calls.map((c) => c.get('refresh_token'))).toEqual(['rt-0', 'rt-1']);
    expect(grant.spentPresented).toEqual([]);
    expect(await server.stop()).toBe(0);
  }, 120_000);
});
