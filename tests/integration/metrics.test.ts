// /metrics fits stock dashboards: Node's process metrics under their usual names, HTTP requests
// by method, route pattern and status (never a raw path: ids would make a series each), and
// delivery attempt durations by outcome.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';

/** The value of one sample line, or undefined when it is absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const labelText = open === name.length ? line.slice(open + 1, line.indexOf('}')) : '';
    const have = Object.fromEntries(
      [...labelText.matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

describe('metrics for stock dashboards', () => {
  let herald: TestHerald;
  let listener: Listener;
  beforeAll(async () => {
    herald = await startTestHerald({ HERALD_RETRY_SCHEDULE: '0s' });
    listener = await startListener((_r, i) => ({ status: i === 0 ? 200 : 500 }));
  });
  afterAll(async () => {
    await herald.close();
    await listener.close();
  });

  const metrics = () => fetch(`${herald.url}/metrics`).then((r) => r.text());

  it('names process metrics as Node dashboards expect, without a doubled prefix', async () => {
    const text = await metrics();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).not.toContain('herald_process_');
  });

  it('counts and times requests by route pattern and status, never by raw path', async () => {
    const ep = await herald.api('POST', '/v1/endpoints', {
      url: `${listener.url}/hook`,
      events: ['PACKAGE_COMPLETE'],
    });
    expect(ep.status).toBe(201);
    const id = ep.body.id as string;
    expect((await herald.api('GET', `/v1/endpoints/${id}`)).status).toBe(200);
    expect((await herald.api('GET', `/v1/endpoints/${id}`)).status).toBe(200);
    expect((await herald.api('GET', '/v1/endpoints/ep_00000000000000000000000000')).status).toBe(
      404,
    );
    expect((await herald.api('GET', '/v1/endpoints', undefined, { key: null })).status).toBe(401);
    expect((await herald.api('GET', '/no/such/path/ep_123')).status).toBe(404);

    const text = await metrics();
    const count = (route: string, status: string, method = 'GET') =>
      sample(text, 'http_server_request_duration_seconds_count', {
        http_request_method: method,
        http_route: route,
        http_response_status_code: status,
      });
    expect(count('/v1/endpoints/:id', '200')).toBe(2);
    expect(count('/v1/endpoints/:id', '404')).toBe(1);
    expect(count('/v1/endpoints', '201', 'POST')).toBe(1);
    // Refused by the authentication middleware before any route answered: its pattern.
    expect(count('/v1/*', '401')).toBe(1);
    expect(count('unmatched', '404')).toBe(1);
    expect(text).not.toContain(id);
    expect(text).not.toContain('/no/such/path');
  });

  it('times delivery attempts by outcome', async () => {
    const ep = await herald.api('POST', '/v1/endpoints', {
      url: `${listener.url}/timed`,
      events: ['PACKAGE_CREATE'],
    });
    expect(ep.status).toBe(201);
    for (const packageId of ['p1', 'p2']) {
      const published = await herald.api('POST', '/v1/events', {
        name: 'PACKAGE_CREATE',
        packageId,
      });
      expect(published.status).toBe(202);
    }
    await listener.waitFor(2);
    // p2's 500 is retried at once (schedule "0s": one retry) and fails again: the counts settle
    // at one success and two HTTP errors. Waiting for one error raced that retry.
    await eventually(async () => {
      const t = await metrics();
      const count = (outcome: string) =>
        sample(t, 'herald_delivery_attempt_duration_seconds_count', { outcome });
      return count('http_error') === 2 && count('success') === 1 ? t : undefined;
    });
  });
});
