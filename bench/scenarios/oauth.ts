// oauth: basic's measurement with a `salesforceOauth2` endpoint against Herald's sandbox org
// (in its own process, like raw's listener), whose Apex-like listener answers 401
// INVALID_SESSION_ID to expired tokens. Every access token is force-expired three times during
// the drain; Herald must notice from the 401, refresh once, and resend.
// As in basic, the raw limit is measured again right before each run (on a listener process of
// its own, with no Herald or sandbox running) and the ratio is the median of per-run ratios.

import { Scope } from '../lib/cleanup.js';
import { startInProcessHerald } from '../lib/herald.js';
import { startPairedRaw } from '../lib/raw-load.js';
import { metric } from '../lib/result.js';
import { startSandboxProcess } from '../lib/sandbox.js';
import { deliveryTimeoutMs, type Scenario } from '../lib/scenario.js';
import { ratePerSecond } from '../lib/stats.js';

const MAX_CONCURRENCY = 256;
const EXPIRE_AT = [0.25, 0.5, 0.75];

export const oauth: Scenario = {
  name: 'oauth',
  title: 'Herald, embedded SQLite, salesforceOauth2 endpoint on the sandbox: deliveries/s',
  baseline: 'raw',
  timeoutMs: (o) => o.runs * (deliveryTimeoutMs(o.deliveries) + 60_000),

  async run(context) {
    const { options, scope, log } = context;
    const paired = await startPairedRaw(scope, options);
    const warmup = Math.min(2000, options.deliveries);
    const total = options.deliveries;
    const rates: number[] = [];
    const details = {
      tokenRequests: [] as number[],
      expiries: [] as number[],
      rejected401: [] as number[],
      duplicates: [] as number[],
    };

    for (let run = 0; run < options.runs; run++) {
      const rawRate = await paired.measure(`O${run}R`);
      const runScope = new Scope(`oauth run ${run + 1}`);
      try {
        // Rotation on, as Salesforce is making it mandatory: every refresh stores a new token.
        const sandbox = await startSandboxProcess({ rotation: true });
        runScope.add('sandbox', sandbox.child);
        const herald = runScope.add('herald', await startInProcessHerald());
        const { api } = herald;
        const endpoint = await api.registerSalesforce(
          sandbox.listenerUrl,
          {
            host: sandbox.url,
            clientId: sandbox.clientId,
            refreshToken: await sandbox.child.call('issueRefreshToken'),
          },
          MAX_CONCURRENCY,
        );
        await sandbox.child.call('reset', { expect: warmup, expireAt: [] });
        await api.publish(warmup);
        await sandbox.child.call('waitDone', deliveryTimeoutMs(warmup));

        await api.setState(endpoint, 'disabled');
        await api.publish(total, { first: warmup });
        await sandbox.child.call('reset', {
          expect: total,
          expireAt: EXPIRE_AT.map((f) => Math.round(total * f)),
        });
        await api.setState(endpoint, 'enabled');
        const stats = await sandbox.child.call('waitDone', deliveryTimeoutMs(total));
        const rate = ratePerSecond(stats.unique, stats.firstAt!, stats.lastAt!);
        rates.push(rate);
        details.tokenRequests.push(stats.tokenRequests);
        details.expiries.push(stats.expiries);
        details.rejected401.push(stats.rejected401);
        details.duplicates.push(stats.duplicates);
        log(
          `run ${run + 1}: ${Math.round(rate)} deliveries/s, ${stats.tokenRequests} token requests for ${stats.expiries} expiries, ${stats.rejected401} 401s; raw right before ${Math.round(rawRate)} requests/s`,
        );
      } finally {
        await runScope.close();
      }
    }

    return {
      method:
        `As basic, with the endpoint registered through OneSpan's salesforceOauth2 connector ` +
        `(refresh-token grant, rotation on) and maxConcurrency ${MAX_CONCURRENCY}, delivering to ` +
        `the sandbox's Apex-like listener in a separate process (answered from node:http like ` +
        `raw's listener, but it checks each bearer token and keeps each callback). Each run: a ` +
        `fresh sandbox and store, ${warmup} ` +
        `warm-up deliveries (the first token), then ${total} held events released at once; every ` +
        `access token is expired after ${EXPIRE_AT.map((f) => `${f * 100} %`).join(', ')} of them. ` +
        `Deliveries/s from the sandbox's first to last distinct webhook-id (ms clock). Before ` +
        `each run, with no Herald or sandbox running, raw's measurement on a listener process ` +
        `of its own (${options.warmupMs} ms warm-up, ${options.durationMs} ms counted); the ` +
        `ratio is the median of the per-run ratios to it.`,
      metrics: [
        metric('deliveries/s', 'deliveries/s', rates, {
          paired: paired.baseline,
          target: { of: 'ratio', op: '>=', value: 0.45 },
        }),
        metric(
          'token requests per expiry',
          'requests',
          details.tokenRequests.map((n, i) => n / Math.max(1, details.expiries[i]!)),
          { target: { of: 'value', op: '==', value: 1 } },
        ),
      ],
      details: {
        ...details,
        deliveriesPerRun: total,
        ...paired.details(context, rates),
      },
    };
  },
};
