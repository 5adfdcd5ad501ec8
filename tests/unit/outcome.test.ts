import { describe, it, expect } from 'vitest';
import { classifyError, classifyResponse, isTokenRejection } from '../../src/domain/outcome.js';
import type { FailureKind, Outcome, ResponseFacts } from '../../src/domain/outcome.js';

const SALESFORCE_EXPIRED =
  '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]';
const SALESFORCE_NOT_REST =
  '[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]';
const SALESFORCE_SCOPE =
  '[{"message":"This session does not have the required scope for this resource","errorCode":"INVALID_SESSION_ID"}]';

const retry = (
  failure: FailureKind,
  slowDown = false,
  retryAfter: string | undefined = undefined,
): Outcome => ({ kind: 'retry', failure, slowDown, retryAfter });

describe('classifyResponse', () => {
  it.each([200, 201, 202, 204, 299])('treats %d as success', (status) => {
    expect(classifyResponse({ status }, false)).toEqual({ kind: 'success' });
    expect(classifyResponse({ status }, true)).toEqual({ kind: 'success' });
  });

  it.each([300, 301, 302, 303, 304, 307, 308, 399])(
    'treats %d as a redirect failure (never followed)',
    (status) => {
      expect(classifyResponse({ status }, false)).toEqual(retry('redirect'));
    },
  );

  it.each([100, 400, 401, 403, 404, 408, 409, 413, 422, 500, 501, 502, 504, 599])(
    'treats %d as an http_error to retry on schedule',
    (status) => {
      expect(classifyResponse({ status }, false)).toEqual(retry('http_error'));
    },
  );

  it.each([429, 503])('asks to slow down after %d', (status) => {
    expect(classifyResponse({ status }, false)).toEqual(retry('http_error', true));
    expect(classifyResponse({ status, retryAfter: '120' }, false)).toEqual(
      retry('http_error', true, '120'),
    );
    expect(classifyResponse({ status, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' }, true)).toEqual(
      retry('http_error', true, 'Wed, 21 Oct 2015 07:28:00 GMT'),
    );
  });

  it('passes Retry-After through for other failures too', () => {
    expect(classifyResponse({ status: 500, retryAfter: '30' }, false)).toEqual(
      retry('http_error', false, '30'),
    );
    expect(classifyResponse({ status: 301, retryAfter: '30' }, false)).toEqual(
      retry('redirect', false, '30'),
    );
  });

  it('treats 410 Gone as a request to disable the endpoint', () => {
    expect(classifyResponse({ status: 410 }, false)).toEqual({ kind: 'gone' });
    expect(classifyResponse({ status: 410, retryAfter: '5' }, true)).toEqual({ kind: 'gone' });
  });

  const tokenCases: [string, ResponseFacts, boolean][] = [
    ['a Salesforce INVALID_SESSION_ID body', { status: 401, body: SALESFORCE_EXPIRED }, true],
    [
      'a Salesforce body with whitespace',
      {
        status: 401,
        body: '[ { "message" : "Session expired or invalid", "errorCode" : "INVALID_SESSION_ID" } ]',
      },
      true,
    ],
    [
      'a single-object INVALID_SESSION_ID body',
      {
        status: 401,
        body: '{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}',
      },
      true,
    ],
    [
      'a truncated INVALID_SESSION_ID body',
      {
        status: 401,
        body: '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"',
      },
      true,
    ],
    [
      'WWW-Authenticate: Bearer error="invalid_token"',
      { status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' },
      true,
    ],
    [
      'WWW-Authenticate with realm and description',
      {
        status: 401,
        wwwAuthenticate:
          'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
      },
      true,
    ],
    [
      'WWW-Authenticate with an unquoted error',
      { status: 401, wwwAuthenticate: 'Bearer error=invalid_token' },
      true,
    ],
    [
      'WWW-Authenticate in upper case',
      { status: 401, wwwAuthenticate: 'BEARER ERROR="INVALID_TOKEN"' },
      true,
    ],
    ['a bare 401', { status: 401 }, false],
    ['a 401 with an unrelated body', { status: 401, body: '{"error":"unauthorized"}' }, false],
    [
      'a 401 with a plain Bearer challenge',
      { status: 401, wwwAuthenticate: 'Bearer realm="example"' },
      false,
    ],
    [
      'a 401 with insufficient_scope',
      { status: 401, wwwAuthenticate: 'Bearer error="insufficient_scope"' },
      false,
    ],
    ['a 401 with a Basic challenge', { status: 401, wwwAuthenticate: 'Basic realm="x"' }, false],
    ['INVALID_SESSION_ID that names a scope', { status: 401, body: SALESFORCE_SCOPE }, false],
    [
      'INVALID_SESSION_ID not valid for the REST API',
      { status: 401, body: SALESFORCE_NOT_REST },
      false,
    ],
    [
      'a mix of fixable and unfixable messages',
      {
        status: 401,
        body: `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"},${SALESFORCE_NOT_REST.slice(1)}`,
      },
      false,
    ],
    ['a 403 with INVALID_SESSION_ID', { status: 403, body: SALESFORCE_EXPIRED }, false],
    [
      'a 400 with invalid_token',
      { status: 400, wwwAuthenticate: 'Bearer error="invalid_token"' },
      false,
    ],
  ];

  it.each(tokenCases)('with a bearer token, %s → token_rejected=%s', (_label, facts, rejected) => {
    expect(isTokenRejection(facts)).toBe(rejected);
    const outcome = classifyResponse(facts, true);
    if (rejected) expect(outcome).toEqual({ kind: 'token_rejected' });
    else expect(outcome).toEqual(retry('http_error'));
  });

  it.each(tokenCases)('without a bearer token, %s → never token_rejected', (_label, facts) => {
    expect(classifyResponse(facts, false)).toEqual(retry('http_error'));
  });
});

describe('classifyError', () => {
  it.each([
    ['timeout', true],
    ['connect_error', false],
    ['destination_blocked', false],
  ] as const)('classifies %s (slowDown=%s)', (failure, slowDown) => {
    expect(classifyError(failure)).toEqual(retry(failure, slowDown));
  });
});
