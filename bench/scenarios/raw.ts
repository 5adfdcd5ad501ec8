// raw: the physical limit of one sending process on this machine. The runner's own process (the
// one that hosts Herald in basic and oauth) POSTs Herald's exact body and headers through an
// undici Pool to the listener process, as fast as the pool allows. Herald cannot deliver faster
// than this from one process, so basic and oauth are quoted as a ratio of it.

import { startListener } from '../lib/listener.js';
import { measureRaw, RAW_CONNECTIONS, rawPool } from '../lib/raw-load.js';
import { metric } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';

export const raw: Scenario = {
  name: 'raw',
  title: 'Raw limit: undici Pool → node:http listener process, loopback',
  timeoutMs: (o) => o.runs * (o.warmupMs + o.durationMs + 10_000) + 30_000,

  async run({ options, scope, log }) {
    const listener = await startListener();
    scope.add('listener', listener.child);
    const pool = rawPool(listener);
    scope.defer('raw pool', () => pool.close());
    const rates: number[] = [];
    const connections: number[] = [];
    let headerNames: readonly string[] = [];

    for (let run = 0; run < options.runs; run++) {
      const measured = await measureRaw(pool, listener, {
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        tag: `R${run}X`,
      });
      rates.push(measured.rate);
      connections.push(measured.connections);
      headerNames = measured.headerNames;
      log(`run ${run + 1}: ${Math.round(measured.rate)} requests/s`);
    }

    return {
      method:
        `The runner process sends through an undici Pool (${RAW_CONNECTIONS} keep-alive connections, ` +
        `pipelining 1, ${RAW_CONNECTIONS} requests in flight) the exact body and headers Herald sends ` +
        `to a Basic endpoint, to a node:http server in a separate process on 127.0.0.1 that ` +
        `answers 200 with an empty body. After ${options.warmupMs} ms of warm-up, requests/s is ` +
        `counted at the listener over ${options.durationMs} ms (distinct webhook-ids between the ` +
        `first and the last arrival).`,
      metrics: [metric('requests/s', 'req/s', rates)],
      details: { connectionsOpenedDuringWindow: connections, headerNames },
    };
  },
};
