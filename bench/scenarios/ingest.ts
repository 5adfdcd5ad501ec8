// ingest: how fast Herald accepts events, durably (each 202 comes after the commit that holds
// the event and its delivery; synchronous=full). A load generator in a separate process keeps
// requests in flight against a fresh store: single-event requests, then batches of 1,000. One
// disabled endpoint subscribes, so every event also writes its (held) delivery, as in
// production, while no delivery work competes with ingest.

import { Scope } from '../lib/cleanup.js';
import type { InProcessHerald } from '../lib/herald.js';
import { startInProcessHerald, sqliteSynchronous } from '../lib/herald.js';
import { startLoadGenerator } from '../lib/load.js';
import type { ClosedLoopResult } from '../lib/load-protocol.js';
import { batchBody, eventInput } from '../lib/payload.js';
import { metric } from '../lib/result.js';
import type { Scenario } from '../lib/scenario.js';

const SINGLE_CONNECTIONS = 128;
const BATCH_CONNECTIONS = 8;
const BATCH_SIZE = 1000;

async function heraldWithDisabledEndpoint(scope: Scope): Promise<InProcessHerald> {
  const herald = scope.add('herald', await startInProcessHerald());
  const endpoint = await herald.api.createBasicEndpoint('http://127.0.0.1:9/never');
  await herald.api.setState(endpoint, 'disabled');
  return herald;
}

export const ingest: Scenario = {
  name: 'ingest',
  title: 'Ingest: POST /v1/events, single events and batches of 1,000 (durable)',
  timeoutMs: (o) => o.runs * 2 * (o.warmupMs + o.durationMs + 30_000) + 30_000,

  async run({ options, scope, log }) {
    const load = scope.add('load generator', await startLoadGenerator());
    const singleRates: number[] = [];
    const batchRates: number[] = [];
    const details = {
      singleP50Ms: [] as number[],
      singleP99Ms: [] as number[],
      batchP50Ms: [] as number[],
      batchP99Ms: [] as number[],
      failed: [] as number[],
    };
    const check = (result: ClosedLoopResult, what: string): void => {
      if (result.failed > 0) {
        throw new Error(`${what}: ${result.failed} requests failed, first: ${result.firstError}`);
      }
    };

    for (let run = 0; run < options.runs; run++) {
      // Each phase gets a fresh store, so neither measures the other's database.
      for (const phase of ['single', 'batch'] as const) {
        const runScope = new Scope(`ingest ${phase} run ${run + 1}`);
        try {
          const herald = await heraldWithDisabledEndpoint(runScope);
          const single = phase === 'single';
          const connections = single ? SINGLE_CONNECTIONS : BATCH_CONNECTIONS;
          const result = await load.call('closedLoop', {
            origin: herald.running.url,
            path: '/v1/events',
            headers: {
              authorization: `Bearer ${herald.api.apiKey}`,
              'content-type': 'application/json',
            },
            body: single ? JSON.stringify(eventInput(run)) : batchBody(0, BATCH_SIZE),
            connections,
            inflight: connections,
            warmupMs: options.warmupMs,
            durationMs: options.durationMs,
            expectStatus: 202,
          });
          check(result, phase);
          const perSecond = result.completed / (result.measuredMs / 1000);
          if (single) {
            singleRates.push(perSecond);
            details.singleP50Ms.push(result.latencyP50Ms);
            details.singleP99Ms.push(result.latencyP99Ms);
            log(`run ${run + 1}: ${Math.round(perSecond)} single-event requests/s`);
          } else {
            batchRates.push(perSecond * BATCH_SIZE);
            details.batchP50Ms.push(result.latencyP50Ms);
            details.batchP99Ms.push(result.latencyP99Ms);
            log(`run ${run + 1}: ${Math.round(perSecond * BATCH_SIZE)} events/s in batches`);
          }
        } finally {
          await runScope.close();
        }
      }
    }

    return {
      method:
        `Herald in the runner process (fresh SQLite store per phase, synchronous=` +
        `${sqliteSynchronous()}, one disabled subscribed endpoint). A separate load-generator ` +
        `process keeps requests in flight with an undici Pool: ${SINGLE_CONNECTIONS} connections ` +
        `of single-event requests, then ${BATCH_CONNECTIONS} connections of ${BATCH_SIZE}-event ` +
        `batches. After ${options.warmupMs} ms of warm-up, 202 answers are counted for ` +
        `${options.durationMs} ms. Any other answer fails the run.`,
      metrics: [
        metric('single-event requests/s', 'req/s', singleRates, {
          target: { of: 'value', op: '>=', value: 10_000 },
        }),
        metric('events/s in batches of 1,000', 'events/s', batchRates, {
          target: { of: 'value', op: '>=', value: 50_000 },
        }),
      ],
      details: {
        ...details,
        singleConnections: SINGLE_CONNECTIONS,
        batchConnections: BATCH_CONNECTIONS,
      },
    };
  },
};
