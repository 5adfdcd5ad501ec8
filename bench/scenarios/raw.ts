// raw: the physical limit of one sending process on this machine. The runner's own process (the
// one that hosts Herald in basic and oauth) POSTs Herald's exact body and headers through an
// undici Pool to the listener process, as fast as the pool allows. Herald cannot deliver faster
// than this from one process, so basic and oauth are quoted as a ratio of it.

import { Pool } from 'undici';
import { sleep } from '../lib/clock.js';
import { startListener } from '../lib/listener.js';
import { deliveredBody, deliveryHeaders, syntheticWebhookId } from '../lib/payload.js';
import { metric } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';
import { ratePerSecond } from '../lib/stats.js';

/** Herald's outbound pool uses the same: 128 keep-alive connections per origin, pipelining 1. */
const CONNECTIONS = 128;

export const raw: Scenario = {
  name: 'raw',
  title: 'Raw limit: undici Pool → node:http listener process, loopback',
  timeoutMs: (o) => o.runs * (o.warmupMs + o.durationMs + 10_000) + 30_000,

  async run({ options, scope, log }) {
    const listener = await startListener();
    scope.add('listener', listener.child);
    const pool = new Pool(listener.url, { connections: CONNECTIONS, pipelining: 1 });
    scope.defer('raw pool', () => pool.close());
    const body = deliveredBody(0);
    const rates: number[] = [];
    const connections: number[] = [];
    let headerNames: readonly string[] = [];

    for (let run = 0; run < options.runs; run++) {
      let sent = 0;
      let stop = false;
      let errors = 0;
      const loop = async (): Promise<void> => {
        while (!stop) {
          try {
            const res = await pool.request({
              path: '/raw',
              method: 'POST',
              headers: deliveryHeaders(syntheticWebhookId(`R${run}X`, sent++)),
              body,
            });
            await res.body.dump();
          } catch {
            // Fatal for the run (and the pool may be closed): stop instead of spinning.
            errors++;
            stop = true;
          }
        }
      };
      const loops = Array.from({ length: CONNECTIONS }, loop);
      await sleep(options.warmupMs);
      await listener.child.call('reset', {
        expect: Number.MAX_SAFE_INTEGER,
        key: 'id',
        latency: false,
      });
      await sleep(options.durationMs);
      stop = true;
      await Promise.all(loops);
      const stats = await listener.child.call('stats');
      if (errors > 0) throw new Error(`raw: ${errors} requests failed`);
      const rate = ratePerSecond(stats.unique, stats.firstAt ?? 0, stats.lastAt ?? 0);
      rates.push(rate);
      connections.push(stats.connections);
      headerNames = stats.headerNames;
      log(`run ${run + 1}: ${Math.round(rate)} requests/s`);
    }

    return {
      method:
        `The runner process sends through an undici Pool (${CONNECTIONS} keep-alive connections, ` +
        `pipelining 1, ${CONNECTIONS} requests in flight) the exact body and headers Herald sends ` +
        `to a Basic endpoint, to a node:http server in a separate process on 127.0.0.1 that ` +
        `answers 200 with an empty body. After ${options.warmupMs} ms of warm-up, requests/s is ` +
        `counted at the listener over ${options.durationMs} ms (distinct webhook-ids between the ` +
        `first and the last arrival).`,
      metrics: [metric('requests/s', 'req/s', rates)],
      details: { connectionsOpenedDuringWindow: connections, headerNames },
    };
  },
};
