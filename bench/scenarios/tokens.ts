// tokens: token efficiency under a burst. 1,000 deliveries to one salesforceOauth2 endpoint are
// in flight together (worker and endpoint concurrency 1,000, sandbox listener answering in
// 20 ms) when the sandbox expires every access token. Each delivery then meets a 401; Herald
// should make exactly one token request and resend them all with the new token.

import { startInProcessHerald } from '../lib/herald.js';
import { metric } from '../lib/result.js';
import { startSandboxProcess } from '../lib/sandbox.js';
import { deliveryTimeoutMs, type Scenario } from '../lib/scenario.js';

const BURST = 1000;
/** Expire when this many of the burst have been accepted: the rest are in flight or queued. */
const EXPIRE_AFTER = 100;
const LISTENER_LATENCY_MS = 20;
const TOKEN_LATENCY_MS = 50;

export const tokens: Scenario = {
  name: 'tokens',
  title: `Token requests for ${BURST.toLocaleString('en-US')} concurrent deliveries across a forced expiry`,
  timeoutMs: (o) => o.runs * deliveryTimeoutMs(BURST) + 60_000,

  async run({ options, scope, log }) {
    const sandbox = await startSandboxProcess({
      rotation: true,
      listenerLatencyMs: LISTENER_LATENCY_MS,
      tokenLatencyMs: TOKEN_LATENCY_MS,
    });
    scope.add('sandbox', sandbox.child);
    const herald = scope.add(
      'herald',
      await startInProcessHerald({ HERALD_WORKER_CONCURRENCY: String(BURST) }),
    );
    const { api } = herald;
    await api.registerSalesforce(
      sandbox.listenerUrl,
      {
        host: sandbox.url,
        clientId: sandbox.clientId,
        refreshToken: await sandbox.child.call('issueRefreshToken'),
      },
      BURST,
    );
    // The first delivery gets the first token; not part of any burst.
    await sandbox.child.call('reset', { expect: 1, expireAt: [] });
    await api.publish(1);
    await sandbox.child.call('waitDone', 30_000);

    const perExpiry: number[] = [];
    const details = {
      tokenRequests: [] as number[],
      rejected401: [] as number[],
      concurrentRefreshRejections: [] as number[],
      burstSeconds: [] as number[],
    };
    for (let run = 0; run < options.runs; run++) {
      await sandbox.child.call('reset', { expect: BURST, expireAt: [EXPIRE_AFTER] });
      await api.publish(BURST, { first: 1 + run * BURST, concurrency: 1 });
      const stats = await sandbox.child.call('waitDone', deliveryTimeoutMs(BURST));
      if (stats.expiries !== 1) throw new Error(`expected one expiry, got ${stats.expiries}`);
      perExpiry.push(stats.tokenRequests / stats.expiries);
      details.tokenRequests.push(stats.tokenRequests);
      details.rejected401.push(stats.rejected401);
      details.concurrentRefreshRejections.push(stats.concurrentRefreshRejections);
      details.burstSeconds.push((stats.lastAt! - stats.firstAt!) / 1000);
      log(
        `run ${run + 1}: ${stats.tokenRequests} token request(s), ${stats.rejected401} deliveries met a 401`,
      );
    }

    return {
      method:
        `Herald in the runner process (worker concurrency ${BURST}) with one salesforceOauth2 ` +
        `endpoint (maxConcurrency ${BURST}) on the sandbox in a separate process (rotation on, ` +
        `listener ${LISTENER_LATENCY_MS} ms, token endpoint ${TOKEN_LATENCY_MS} ms, so requests ` +
        `overlap). Per run ${BURST} events are published in one batch; when ${EXPIRE_AFTER} have ` +
        `been accepted the sandbox expires every access token, and the token requests the ` +
        `sandbox receives until all ${BURST} are delivered are counted.`,
      metrics: [
        metric('token requests per expiry', 'requests', perExpiry, {
          target: { of: 'value', op: '==', value: 1 },
        }),
      ],
      details: { ...details, burst: BURST, expireAfter: EXPIRE_AFTER },
    };
  },
};
