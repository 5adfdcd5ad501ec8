// fanout: one event to 1,000 endpoints. Each endpoint is a Basic endpoint with its own path on
// the listener process; the figure is the time from sending the publish request to the
// 1,000th delivery's arrival. The first event (cold: new lanes, endpoint cache, connections)
// is a warm-up reported apart; the measured events then follow on the same server.

import { wallNow } from '../lib/clock.js';
import { startInProcessHerald, sqliteSynchronous } from '../lib/herald.js';
import { startListener } from '../lib/listener.js';
import { eventInput } from '../lib/payload.js';
import { metric } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';

const ENDPOINTS = 1000;
const CREATE_CONCURRENCY = 8;

export const fanout: Scenario = {
  name: 'fanout',
  title: `Fan-out: one event to ${ENDPOINTS.toLocaleString('en-US')} endpoints`,
  timeoutMs: (o) => (o.runs + 1) * 60_000 + 120_000,

  async run({ options, scope, log }) {
    const listener = await startListener();
    scope.add('listener', listener.child);
    const herald = scope.add('herald', await startInProcessHerald());
    const { api } = herald;
    let created = 0;
    await Promise.all(
      Array.from({ length: CREATE_CONCURRENCY }, async () => {
        while (created < ENDPOINTS) {
          const i = created++;
          await api.createBasicEndpoint(`${listener.url}/fanout/${i}`);
        }
      }),
    );

    const times: number[] = [];
    const firstDelivery: number[] = [];
    const accepted: number[] = [];
    let coldMs = NaN;
    for (let run = 0; run <= options.runs; run++) {
      await listener.child.calibrate();
      await listener.child.call('reset', { expect: ENDPOINTS, key: 'path+id', latency: false });
      const sentAt = wallNow();
      await api.call('POST', '/v1/events', eventInput(run));
      const acceptedAt = wallNow();
      const stats = await listener.child.call('waitDone', 60_000);
      const ms = listener.child.toRunnerClock(stats.lastAt!) - sentAt;
      if (run === 0) {
        coldMs = ms;
        log(`warm-up (cold) event: ${ms.toFixed(1)} ms`);
        continue;
      }
      times.push(ms);
      firstDelivery.push(listener.child.toRunnerClock(stats.firstAt!) - sentAt);
      accepted.push(acceptedAt - sentAt);
      log(`run ${run}: ${ENDPOINTS} deliveries in ${ms.toFixed(1)} ms`);
    }

    return {
      method:
        `Herald in the runner process (synchronous=${sqliteSynchronous()}) with ${ENDPOINTS} Basic ` +
        `endpoints (default options) at ${ENDPOINTS} paths of the listener process, all ` +
        `subscribed. One event is published per run; the time runs from sending POST /v1/events ` +
        `to the arrival of the ${ENDPOINTS}th distinct (path, webhook-id) at the listener ` +
        `(runner clock, IPC-calibrated). The first event is a cold warm-up, reported in details.`,
      metrics: [
        metric(`publish → ${ENDPOINTS}th delivery`, 'ms', times, {
          target: { of: 'value', op: '<=', value: 500 },
        }),
        metric('publish → first delivery', 'ms', firstDelivery),
      ],
      details: { endpoints: ENDPOINTS, coldMs, publishAcceptedMs: accepted },
    };
  },
};
