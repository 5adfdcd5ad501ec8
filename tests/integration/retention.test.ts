// HERALD_RETENTION: finished deliveries (succeeded, failed) and their attempts go once they are
// older than the period, and their events once nothing refers to them; held work stays, however
// old. With a 2 s period a pass runs every second.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';

describe('retention (HERALD_RETENTION=2s)', () => {
  let herald: TestHerald;
  let ok: Listener;
  let failing: Listener;
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_RETENTION: '2s', HERALD_RETRY_SCHEDULE: '0s' });
    ok = await startListener(() => ({ status: 204 }));
    failing = await startListener(() => ({ status: 500 }));
  });
  afterAll(async () => {
    await herald.close();
    await ok.close();
    await failing.close();
  });

  async function endpoint(url: string, state?: 'disabled'): Promise<string> {
    const res = await herald.api('POST', '/v1/endpoints', { url, events: ['PACKAGE_COMPLETE'] });
    expect(res.status).toBe(201);
    if (state) await herald.api('PATCH', `/v1/endpoints/${res.body.id}`, { state });
    return res.body.id as string;
  }

  it('deletes succeeded and failed deliveries and their event; keeps held ones and theirs', async () => {
    const toOk = await endpoint(`${ok.url}/ok`);
    const toFailing = await endpoint(`${failing.url}/fail`);
    const published = await herald.api('POST', '/v1/events', {
      name: 'PACKAGE_COMPLETE',
      packageId: 'p-old',
    });
    const eventId = published.body.id as string;
    const [succeeded, failed] = await Promise.all(
      [toOk, toFailing].map((ep, i) =>
        eventually(async () => {
          const d = (await herald.api('GET', `/v1/deliveries?endpoint=${ep}`)).body.data[0];
          return d?.status === (i === 0 ? 'succeeded' : 'failed') ? (d.id as string) : undefined;
        }),
      ),
    );
    // A later event waits held for an endpoint someone disabled: it must survive every pass.
    const parked = await endpoint(`${ok.url}/parked`, 'disabled');
    const second = await herald.api('POST', '/v1/events', {
      name: 'PACKAGE_COMPLETE',
      packageId: 'p-held',
    });
    const held = (await herald.api('GET', `/v1/deliveries?endpoint=${parked}`)).body.data[0];
    expect(held.status).toBe('held');

    // A pass deletes deliveries and events in separate steps (each its own short transaction), so
    // the finished deliveries can be seen gone a moment before their event: wait for all three.
    await eventually(
      async () => {
        const gone = await Promise.all(
          [`/v1/deliveries/${succeeded}`, `/v1/deliveries/${failed}`, `/v1/events/${eventId}`].map(
            async (path) => (await herald.api('GET', path)).status,
          ),
        );
        return gone.every((s) => s === 404) ? true : undefined;
      },
      30_000,
      'finished deliveries and their event deleted',
    );
    // Held: never deleted, nor its event, however old.
    expect((await herald.api('GET', `/v1/deliveries/${held.id}`)).body.status).toBe('held');
    expect((await herald.api('GET', `/v1/events/${second.body.id}`)).status).toBe(200);
    const metrics = await fetch(`${herald.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^herald_retention_deleted_total\{table="deliveries"\} [1-9]/m);
    expect(metrics).toMatch(/^herald_retention_deleted_total\{table="events"\} [1-9]/m);
  });
});
