// The dispatcher's promise chain: one delivery attempt from credentials to its result, with the
// sending and the endpoint-health hooks replaced by recorders. What it sends and how each answer
// is classified is covered end to end by the integration tests; these check the paths that
// settle without waiting (Basic, success) and the ones that must still end in a result.

import { describe, expect, it } from 'vitest';
import { Credentials, type TokenSource } from '../../src/delivery/credentials.js';
import {
  Dispatcher,
  type HealthHooks,
  type OutboundRequest,
} from '../../src/delivery/dispatcher.js';
import type { Endpoint } from '../../src/domain/endpoint.js';
import type { AccountId, DeliveryId, EndpointId, EventId } from '../../src/domain/ids.js';
import type { SendResult } from '../../src/net/outbound.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { ClaimedDelivery } from '../../src/store/port.js';
import { bearerToken } from '../helpers/bearer.js';
import { anEndpoint, T0 } from '../helpers/store.js';

const accountId = 'acc_1' as AccountId;

function anOpenEndpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  // The stored row with its secrets open (its sealed copy rides along unread).
  return {
    ...anEndpoint(accountId, T0),
    authType: 'BASIC',
    secrets: { basicKey: 'callback-key' },
    ...overrides,
  };
}

function aClaimed(endpointId: EndpointId): ClaimedDelivery {
  return {
    id: 'dlv_1' as DeliveryId,
    eventId: 'evt_1' as EventId,
    endpointId,
    accountId,
    payload: '{"name":"PACKAGE_COMPLETE"}',
    attempts: 0,
    cycleAttempts: 0,
    endpointVersion: 1,
    manual: false,
    traceParent: null,
  };
}

/**
 * Sends as the exchange does: asks right before writing, drops the request unsent if it is no
 * longer wanted, and otherwise gets `answer`.
 */
const asTheExchangeDoes =
  (answer: () => SendResult) =>
  async (request: OutboundRequest): Promise<SendResult> =>
    request.stillWanted?.() === false
      ? { ok: false, failure: 'withdrawn', message: 'not sent', durationMs: 0 }
      : answer();

/** The bearer token of one generation, as the token source hands it out. */
const bearer = bearerToken;

const answered = (status: number): SendResult => ({
  ok: true,
  status,
  retryAfter: undefined,
  wwwAuthenticate: undefined,
  body: '',
  durationMs: 3,
});

function aDispatcher(options: {
  send: (request: OutboundRequest) => Promise<SendResult>;
  tokens?: TokenSource;
  disable?: () => Promise<boolean>;
}): { dispatcher: Dispatcher; sent: OutboundRequest[] } {
  const sent: OutboundRequest[] = [];
  const unused = (): Promise<never> => Promise.reject(new Error('not expected in this test'));
  const health: HealthHooks = {
    disable: options.disable ?? unused,
    failed: async () => {},
    succeeded: async () => {},
    requireReauthorization: unused,
    credentialsWork: async () => {},
  };
  const dispatcher = new Dispatcher({
    send: (request) => {
      sent.push(request);
      return options.send(request);
    },
    credentials: new Credentials(
      options.tokens ?? { accessToken: unused, tokenRejected: unused, refused: () => false },
    ),
    health,
    metrics: new Metrics(),
    logger: silentLogger(),
    clock: () => T0,
    random: () => 0.5,
    retrySchedule: [60_000],
    userAgent: 'Herald/test',
  });
  return { dispatcher, sent };
}

describe('the dispatcher', () => {
  it('delivers with a Basic key and records one attempt', async () => {
    const endpoint = anOpenEndpoint();
    const { dispatcher, sent } = aDispatcher({ send: async () => answered(200) });
    const result = await dispatcher.run(aClaimed(endpoint.id), endpoint, 'w1');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers.authorization).toBe('Basic callback-key');
    expect(result).toMatchObject({
      deliveryId: 'dlv_1',
      owner: 'w1',
      status: 'succeeded',
      attempts: 1,
      cycleAttempts: 1,
      lastStatusCode: 200,
      lastError: null,
      attempt: { number: 1, trigger: 'scheduled', statusCode: 200, outcome: 'success' },
    });
  });

  it('gives the delivery back for a later try when the attempt itself fails', async () => {
    const endpoint = anOpenEndpoint({
      authType: 'OAUTH2',
      secrets: {},
    });
    const { dispatcher, sent } = aDispatcher({
      send: async () => answered(200),
      tokens: {
        accessToken: () => Promise.reject(new Error('a bug in the token source')),
        tokenRejected: () => Promise.reject(new Error('not expected')),
        refused: () => false,
      },
    });
    const result = await dispatcher.run(aClaimed(endpoint.id), endpoint, 'w1');
    expect(sent).toHaveLength(0);
    expect(result).toMatchObject({
      status: 'pending',
      nextAttemptAt: T0 + 30_000,
      attempts: 0,
      lastError: 'internal error; will try again',
      attempt: null,
    });
  });

  it('gives the delivery back when building the request throws', async () => {
    const endpoint = anOpenEndpoint({
      // Not a valid header list: the dispatcher reads `key` of each.
      customHeaders: [null as unknown as { key: string; value: string }],
    });
    const { dispatcher, sent } = aDispatcher({ send: async () => answered(200) });
    const result = await dispatcher.run(aClaimed(endpoint.id), endpoint, 'w1');
    expect(sent).toHaveLength(0);
    expect(result).toMatchObject({
      status: 'pending',
      lastError: 'internal error; will try again',
    });
  });

  it('drops unsent a request whose token a listener refused meanwhile, and resends it', async () => {
    const endpoint = anOpenEndpoint({ authType: 'OAUTH2', secrets: {} });
    let refusedUpTo = 0;
    const rejections: number[] = [];
    const { dispatcher, sent } = aDispatcher({
      send: asTheExchangeDoes(() => answered(200)),
      tokens: {
        accessToken: async () => {
          // Another delivery's 401 arrives while this one waits for a connection.
          refusedUpTo = 1;
          return bearer(1);
        },
        tokenRejected: async (_endpoint, generation) => {
          rejections.push(generation);
          return bearer(2);
        },
        refused: (_endpoint, generation) => generation <= refusedUpTo,
      },
    });
    const result = await dispatcher.run(aClaimed(endpoint.id), endpoint, 'w1');
    expect(sent.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(rejections).toEqual([1]);
    expect(result).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      attempt: { number: 1, trigger: 'token_refresh', statusCode: 200, outcome: 'success' },
    });
  });

  it('gives back, without spending an attempt, a resend whose newer token was refused too before it was sent', async () => {
    const endpoint = anOpenEndpoint({ authType: 'OAUTH2', secrets: {} });
    let refusedUpTo = 0;
    let written = 0;
    const { dispatcher, sent } = aDispatcher({
      send: asTheExchangeDoes(() => (written++, answered(200))),
      tokens: {
        accessToken: async () => {
          refusedUpTo = 1;
          return bearer(1);
        },
        // Other deliveries' 401s keep arriving: the newer token is refused before this resend
        // reaches a connection.
        tokenRejected: async () => {
          refusedUpTo = 2;
          return bearer(2);
        },
        refused: (_endpoint, generation) => generation <= refusedUpTo,
      },
    });
    const result = await dispatcher.run(aClaimed(endpoint.id), endpoint, 'w1');
    expect(sent).toHaveLength(2);
    expect(written).toBe(0);
    expect(result).toMatchObject({
      status: 'pending',
      nextAttemptAt: T0,
      attempts: 0,
      cycleAttempts: 0,
      lastStatusCode: null,
      attempt: null,
    });
    expect(result.lastError).toMatch(/replaced twice/);
  });

  it('counts the 401 a listener did answer when the resend is withdrawn before it is written', async () => {
    const endpoint = anOpenEndpoint({ authType: 'OAUTH2', secrets: {} });
    let refusedUpTo = 0;
    const { dispatcher, sent } = aDispatcher({
      send: asTheExchangeDoes(() => ({
        ...answered(401),
        wwwAuthenticate: 'Bearer error="invalid_token"',
      })),
      tokens: {
        accessToken: async () => bearer(1),
        tokenRejected: async () => {
          // Another delivery's 401 refuses the newer token before this resend is written.
          refusedUpTo = 2;
          return bearer(2);
        },
        refused: (_endpoint, generation) => generation <= refusedUpTo,
      },
    });
    const result = await dispatcher.run(aClaimed(endpoint.id), endpoint, 'w1');
    expect(sent).toHaveLength(2);
    expect(result).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: 401,
      attempt: { number: 1, statusCode: 401, outcome: 'http_error' },
    });
    expect(result.nextAttemptAt).toBeGreaterThan(T0);
  });

  it('holds the delivery after a 410 once the endpoint is disabled, retries it if it moved', async () => {
    const endpoint = anOpenEndpoint();
    for (const [disabled, status, next] of [
      [true, 'held', null],
      [false, 'pending', T0],
    ] as const) {
      const { dispatcher } = aDispatcher({
        send: async () => answered(410),
        disable: async () => disabled,
      });
      const result = await dispatcher.run(aClaimed(endpoint.id), endpoint, 'w1');
      expect(result).toMatchObject({ status, nextAttemptAt: next, lastStatusCode: 410 });
      expect(result.attempt).toMatchObject({ statusCode: 410, outcome: 'gone' });
    }
  });
});
