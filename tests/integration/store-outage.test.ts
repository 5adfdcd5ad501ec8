// PostgreSQL going away under a running Herald: requests get a prompt 503 store_unavailable
// problem (never a 500 or a hang), and Herald serves again once the database is back. The
// database is reached through a TCP relay on loopback that the test cuts and restores.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKey } from '../../src/services/secret-box.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { createTestSchema, postgresMissing, type TestSchema } from '../helpers/postgres.js';

interface Relay {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
}

async function startRelay(target: URL): Promise<Relay> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    port = (server.address() as { port: number }).port;
  };
  await listen();
  return {
    get port() {
      return port;
    },
    async cut() {
      const closed = new Promise((r) => server.close(r));
      for (const s of sockets) s.destroy();
      await closed;
    },
    async restore() {
      if (!server.listening) await listen();
    },
  };
}

describe.skipIf(postgresMissing !== undefined)('PostgreSQL outage', () => {
  let schema: TestSchema;
  let relay: Relay;
  let herald: TestHerald;

  beforeAll(async () => {
    schema = await createTestSchema();
    relay = await startRelay(new URL(schema.url));
    const url = new URL(schema.url);
    url.hostname = '127.0.0.1';
    url.port = String(relay.port);
    herald = await startTestHerald({
      HERALD_DATABASE_URL: url.toString(),
      HERALD_MASTER_KEY: generateMasterKey(),
      HERALD_DATABASE_POOL: '2',
    });
  });
  afterAll(async () => {
    await herald?.close();
    await relay?.restore().catch(() => undefined);
    await schema?.drop();
  });

  it('answers 503 store_unavailable while the database is gone, and serves again after', async () => {
    const publish = () =>
      herald.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'outage' });
    const before = await publish();
    expect(before.status).toBe(202);

    await relay.cut();
    const started = Date.now();
    for (const res of [publish(), herald.api('GET', '/v1/deliveries')]) {
      const answer = await res;
      expect(answer.status, answer.text).toBe(503);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(answer.headers.get('retry-after')).toBe('2');
      expect(answer.body.code).toBe('store_unavailable');
      expect(answer.text).not.toMatch(/ECONNREFUSED|postgres:\/\/|127\.0\.0\.1/);
    }
    expect(Date.now() - started).toBeLessThan(15_000);

    await relay.restore();
    const accepted = await eventually(async () => {
      const answer = await publish();
      return answer.status === 202 ? answer : undefined;
    }, 20_000);
    // Serves again: what was published after the outage, and before it, reads back from the store.
    for (const id of [before.body.id, accepted.body.id]) {
      const event = await herald.api('GET', `/v1/events/${id}`);
      expect(event.status, event.text).toBe(200);
      expect(event.body).toMatchObject({ id, packageId: 'outage' });
    }
    const listed = await herald.api('GET', '/v1/deliveries');
    expect(listed.status, listed.text).toBe(200);
  });
});
