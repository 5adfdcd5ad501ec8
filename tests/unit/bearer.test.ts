// The bearer module on its own: what one send's answer means, the transport hook a bearer
// request carries, and the one resend after a refused token. The dispatcher's tests run the
// same paths through a whole attempt.

import { describe, expect, it } from 'vitest';
import { BearerRecovery, outcomeOf, type Sent } from '../../src/delivery/bearer.js';
import type { Authorization, TokenSource } from '../../src/delivery/credentials.js';
import type { Endpoint } from '../../src/domain/endpoint.js';
import type { AccountId } from '../../src/domain/ids.js';
import type { SendResult } from '../../src/net/outbound.js';
import { bearerToken } from '../helpers/bearer.js';
import { anEndpoint, T0 } from '../helpers/store.js';

const endpoint: Endpoint = { ...anEndpoint('acc_1' as AccountId, T0), secrets: {} };

const token = bearerToken;

const answered = (status: number, body = ''): SendResult => ({
  ok: true,
  status,
  retryAfter: undefined,
  wwwAuthenticate: undefined,
  body,
  durationMs: 3,
});

const failed = (failure: 'timeout' | 'connect_error' | 'withdrawn'): SendResult => ({
  ok: false,
  failure,
  message: failure,
  durationMs: 1,
});

const SESSION_EXPIRED = '[{"errorCode":"INVALID_SESSION_ID","message":"Session expired"}]';

describe('outcomeOf', () => {
  it.each([
    ['200', answered(200), true, { kind: 'success' }],
    ['410', answered(410), true, { kind: 'gone' }],
    [
      '401 INVALID_SESSION_ID, bearer',
      answered(401, SESSION_EXPIRED),
      true,
      { kind: 'token_rejected' },
    ],
    [
      '401 INVALID_SESSION_ID, Basic',
      answered(401, SESSION_EXPIRED),
      false,
      { kind: 'retry', failure: 'http_error', slowDown: false, retryAfter: undefined },
    ],
    ['withdrawn unsent', failed('withdrawn'), true, { kind: 'token_rejected' }],
    [
      'timeout',
      failed('timeout'),
      true,
      { kind: 'retry', failure: 'timeout', slowDown: true, retryAfter: undefined },
    ],
    [
      'connect error',
      failed('connect_error'),
      false,
      { kind: 'retry', failure: 'connect_error', slowDown: false, retryAfter: undefined },
    ],
  ] as const)('%s', (_label, response, bearer, expected) => {
    expect(outcomeOf(response, bearer)).toEqual(expected);
  });
});

/** A token source whose refusals and newer tokens the test sets. */
function tokens(o: { refusedUpTo?: () => number; newer?: () => Promise<Authorization> }): {
  source: TokenSource;
  rejected: number[];
} {
  const rejected: number[] = [];
  const source: TokenSource = {
    accessToken: () => Promise.reject(new Error('not expected')),
    tokenRejected: (_endpoint, generation) => {
      rejected.push(generation);
      return o.newer?.() ?? Promise.resolve(token(generation + 1));
    },
    refused: (_endpoint, generation) => generation <= (o.refusedUpTo?.() ?? 0),
  };
  return { source, rejected };
}

const sentWith = (response: SendResult, auth: Authorization & { ok: true }): Sent => ({
  response,
  outcome: outcomeOf(response, auth.bearer),
  authorization: auth.header,
});

describe('BearerRecovery', () => {
  it('gives a bearer request a hook that says whether its token is still wanted', () => {
    let refusedUpTo = 0;
    const bearer = new BearerRecovery(tokens({ refusedUpTo: () => refusedUpTo }).source);
    const basic: Authorization & { ok: true } = {
      ok: true,
      header: 'Basic key',
      bearer: false,
      generation: 0,
    };
    expect(bearer.stillWanted(endpoint, basic)).toBeUndefined();
    const hook = bearer.stillWanted(endpoint, token(1))!;
    expect(hook()).toBe(true);
    refusedUpTo = 1;
    expect(hook()).toBe(false);
  });

  it('resends once with the newer token after a 401', async () => {
    const t = tokens({});
    const first = token(1);
    const resent: Authorization[] = [];
    const exchange = await new BearerRecovery(t.source).resend(
      endpoint,
      first,
      sentWith(answered(401, SESSION_EXPIRED), first),
      async (auth) => {
        resent.push(auth);
        return sentWith(answered(200), auth);
      },
    );
    expect(t.rejected).toEqual([1]);
    expect(resent).toEqual([token(2)]);
    expect(exchange).toMatchObject({
      ok: true,
      refreshed: true,
      sent: { outcome: { kind: 'success' }, authorization: 'Bearer token-2' },
    });
  });

  it('counts a second 401 as an ordinary failure', async () => {
    const first = token(1);
    const exchange = await new BearerRecovery(tokens({}).source).resend(
      endpoint,
      first,
      sentWith(answered(401, SESSION_EXPIRED), first),
      async (auth) => sentWith(answered(401, SESSION_EXPIRED), auth),
    );
    expect(exchange).toMatchObject({
      ok: true,
      refreshed: true,
      sent: {
        response: { status: 401 },
        outcome: { kind: 'retry', failure: 'http_error', slowDown: false },
        authorization: 'Bearer token-2',
      },
    });
  });

  it('sends nothing when no newer token can be had', async () => {
    const dead: Authorization = {
      ok: false,
      kind: 'terminal',
      message: 'invalid_grant',
      retryInMs: 0,
    };
    const first = token(1);
    let resends = 0;
    const exchange = await new BearerRecovery(tokens({ newer: async () => dead }).source).resend(
      endpoint,
      first,
      sentWith(answered(401, SESSION_EXPIRED), first),
      async (auth) => {
        resends++;
        return sentWith(answered(200), auth);
      },
    );
    expect(resends).toBe(0);
    expect(exchange).toEqual({ ok: false, auth: dead });
  });

  it('keeps the 401 the listener did answer when the resend is withdrawn unsent', async () => {
    const first = token(1);
    const exchange = await new BearerRecovery(tokens({}).source).resend(
      endpoint,
      first,
      sentWith(answered(401, SESSION_EXPIRED), first),
      async (auth) => sentWith(failed('withdrawn'), auth),
    );
    expect(exchange).toMatchObject({
      ok: true,
      refreshed: true,
      sent: {
        response: { status: 401 },
        outcome: { kind: 'retry', failure: 'http_error' },
        authorization: 'Bearer token-1',
      },
    });
  });

  it('gives the delivery back, no attempt spent, when neither request was written', async () => {
    const first = token(1);
    const exchange = await new BearerRecovery(tokens({}).source).resend(
      endpoint,
      first,
      sentWith(failed('withdrawn'), first),
      async (auth) => sentWith(failed('withdrawn'), auth),
    );
    expect(exchange).toMatchObject({
      ok: false,
      auth: { ok: false, kind: 'transient', retryInMs: 0 },
    });
  });
});
