import { describe, it, expect } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { HeraldError } from '../../src/errors.js';
import {
  MAX_CUSTOM_HEADERS,
  MAX_HEADER_KEY,
  MAX_HEADER_VALUE,
  customHeaderProblem,
  isMasked,
  maskSecret,
  subscribes,
} from '../../src/domain/endpoint.js';
import { checkCustomHeaders, normaliseEventFilter } from '../../src/services/endpoints.js';

function thrown(fn: () => unknown): HeraldError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as HeraldError;
  }
  throw new Error('expected a ValidationError');
}

describe('customHeaderProblem', () => {
  it('has OneSpan’s limits', () => {
    expect([MAX_CUSTOM_HEADERS, MAX_HEADER_KEY, MAX_HEADER_VALUE]).toEqual([5, 50, 100]);
  });

  it.each([
    ['X-Custom', 'value'],
    ['x-api-version', '2'],
    ['X-Tenant', ''],
    ['K'.repeat(50), 'v'],
    ['X-Long', 'v'.repeat(100)],
    ["!#$%&'*+-.^_`|~09azAZ", 'token characters'],
    ['X-Spaces', 'a value with spaces and\ttab'],
    ['X-Punct', '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'],
    ['X-Latin1', 'caf\u00e9'],
    ['Webhook', 'not the webhook- prefix'],
    ['X-Webhook-Id', 'only a prefix counts'],
    ['Authorization-Hint', 'not exactly a reserved name'],
  ])('accepts %j: %j', (key, value) => {
    expect(customHeaderProblem({ key, value })).toBeUndefined();
  });

  it.each([
    ['', 'v', 'key must be 1 to 50 characters'],
    ['K'.repeat(51), 'v', 'key must be 1 to 50 characters'],
    ['X Custom', 'v', 'key must be a valid HTTP header name'],
    ['X-Custom:', 'v', 'key must be a valid HTTP header name'],
    ['X-Custom\r\nEvil', 'v', 'key must be a valid HTTP header name'],
    ['X(Custom)', 'v', 'key must be a valid HTTP header name'],
    ['X-Ünicode', 'v', 'key must be a valid HTTP header name'],
    ['X"Quote"', 'v', 'key must be a valid HTTP header name'],
    ['X-Custom', 'v'.repeat(101), 'value must be at most 100 characters'],
    [
      'X-Custom',
      'a\r\nX-Evil: 1',
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
    [
      'X-Custom',
      'a\nb',
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
    [
      'X-Custom',
      'a\rb',
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
    [
      'X-Custom',
      'nul\u0000',
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
    [
      'X-Custom',
      'bell\u0007',
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
    [
      'X-Custom',
      'del\u007f',
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
    [
      'X-Custom',
      'euro \u20ac',
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
  ])('refuses %j: %j', (key, value, problem) => {
    expect(customHeaderProblem({ key, value })).toBe(problem);
  });

  it.each([
    'Authorization',
    'authorization',
    'AUTHORIZATION',
    'Content-Type',
    'content-type',
    'Content-Length',
    'Content-Encoding',
    'Transfer-Encoding',
    'User-Agent',
    'USER-AGENT',
    'Host',
    'host',
    'Connection',
    'Keep-Alive',
    'Upgrade',
    'TE',
    'Trailer',
    'Expect',
    'Proxy-Authorization',
    'webhook-id',
    'Webhook-Id',
    'WEBHOOK-TIMESTAMP',
    'webhook-signature',
    'Webhook-Anything',
  ])('refuses the reserved header %j', (key) => {
    expect(customHeaderProblem({ key, value: 'x' })).toBe(
      `key ${key} is set by Herald and cannot be overridden`,
    );
  });
});

describe('maskSecret and isMasked', () => {
  it.each([
    ['0123456789abcdef7f3a', '****7f3a'],
    ['123456789', '****6789'],
    ['12345678', '****'],
    ['short', '****'],
    ['', '****'],
  ])('masks %j as %j', (secret, masked) => {
    expect(maskSecret(secret)).toBe(masked);
    expect(isMasked(masked)).toBe(true);
  });

  it('never shows more than the last four characters', () => {
    const secret = 'sk_live_abcdefghijklmnopqrstuvwxyz';
    const masked = maskSecret(secret);
    expect(masked).toBe('****wxyz');
    expect(masked).not.toContain('sk_live');
  });

  it.each([
    ['****7f3a', true],
    ['****', true],
    ['*****', true],
    ['***7', false],
    ['7f3a****', false],
    [' ****7f3a', false],
    ['a-real-secret', false],
    ['', false],
  ])('isMasked(%j) is %s', (value, masked) => {
    expect(isMasked(value)).toBe(masked);
  });
});

describe('checkCustomHeaders', () => {
  const five = [1, 2, 3, 4, 5].map((i) => ({ key: `X-H${i}`, value: `v${i}` }));

  it.each([[[]], [five.slice(0, 1)], [five]])('accepts %j', (headers) => {
    expect(() => checkCustomHeaders(headers)).not.toThrow();
  });

  it('refuses more than 5 headers', () => {
    const err = thrown(() => checkCustomHeaders([...five, { key: 'X-H6', value: 'v6' }]));
    expect(err.code).toBe('invalid_header');
    expect(err.status).toBe(400);
    expect(err.message).toBe('At most 5 custom headers are allowed');
    expect(err.problems).toEqual([{ path: 'customHeaders', message: 'has 6 entries; at most 5' }]);
  });

  it.each([
    [
      [
        { key: 'X-A', value: '1' },
        { key: 'X-A', value: '2' },
      ],
      1,
      'key X-A appears twice',
    ],
    [
      [
        { key: 'X-A', value: '1' },
        { key: 'X-B', value: '2' },
        { key: 'x-a', value: '3' },
      ],
      2,
      'key x-a appears twice',
    ],
    [
      [
        { key: 'X-A', value: '1' },
        { key: 'Authorization', value: 'Bearer x' },
      ],
      1,
      'key Authorization is set by Herald and cannot be overridden',
    ],
    [
      [
        { key: 'X-A', value: '1' },
        { key: 'X-B', value: '2' },
        { key: 'X-C', value: 'a\r\nb' },
      ],
      2,
      'value must be printable ASCII or Latin-1, without line breaks or control characters',
    ],
    [[{ key: 'Bad Key', value: '1' }], 0, 'key must be a valid HTTP header name'],
  ])('refuses %j at index %d: %s', (headers, index, problem) => {
    const err = thrown(() => checkCustomHeaders(headers));
    expect(err.code).toBe('invalid_header');
    expect(err.message).toBe(`Custom header ${index + 1}: ${problem}`);
    expect(err.problems).toEqual([{ path: `customHeaders/${index}`, message: problem }]);
  });

  it('names the path it is given', () => {
    const err = thrown(() => checkCustomHeaders([{ key: 'Host', value: 'x' }], 'headers'));
    expect(err.problems?.[0]?.path).toBe('headers/0');
  });
});

describe('normaliseEventFilter', () => {
  it.each([
    [[], []],
    [['PACKAGE_COMPLETE'], ['PACKAGE_COMPLETE']],
    [['PACKAGE_READY_FOR_COMPLETION'], ['PACKAGE_READY_FOR_COMPLETE']],
    [
      ['PACKAGE_READY_FOR_COMPLETION', 'PACKAGE_COMPLETE', 'PACKAGE_READY_FOR_COMPLETE'],
      ['PACKAGE_READY_FOR_COMPLETE', 'PACKAGE_COMPLETE'],
    ],
    [
      ['PACKAGE_COMPLETE', 'PACKAGE_COMPLETE', 'DOCUMENT_SIGNED', 'PACKAGE_COMPLETE'],
      ['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED'],
    ],
    [['*'], ['*']],
    [['*', '*'], ['*']],
    [
      ['PACKAGE_CREATE', '*'],
      ['PACKAGE_CREATE', '*'],
    ],
    [['SOME_FUTURE_EVENT'], ['SOME_FUTURE_EVENT']],
  ])('normalises %j to %j', (events, expected) => {
    expect(normaliseEventFilter(events)).toEqual(expected);
  });

  it.each([
    [['package_complete'], [0]],
    [
      ['PACKAGE_COMPLETE', 'bad name', 'DOCUMENT_SIGNED', ''],
      [1, 3],
    ],
    [['**'], [0]],
    [['PACKAGE_*'], [0]],
    [['1_EVENT'], [0]],
  ])('refuses %j, naming events/i', (events, indexes) => {
    const err = thrown(() => normaliseEventFilter(events));
    expect(err.code).toBe('validation_failed');
    expect(err.status).toBe(400);
    expect(err.problems?.map((p) => p.path)).toEqual(indexes.map((i) => `events/${i}`));
    const first = events[indexes[0]!]!;
    expect(err.message).toBe(`${JSON.stringify(first)} is not an event name`);
  });

  it('names the path it is given', () => {
    const err = thrown(() => normaliseEventFilter(['ok', 'OK'], 'filter'));
    expect(err.problems).toEqual([{ path: 'filter/0', message: '"ok" is not an event name' }]);
  });

  it('feeds subscribes(): aliases match their wire name, * matches all', () => {
    const endpoint = { events: normaliseEventFilter(['PACKAGE_READY_FOR_COMPLETION']) };
    expect(subscribes(endpoint, 'PACKAGE_READY_FOR_COMPLETE')).toBe(true);
    expect(subscribes(endpoint, 'PACKAGE_COMPLETE')).toBe(false);
    expect(subscribes({ events: normaliseEventFilter(['*']) }, 'ANYTHING_NEW')).toBe(true);
    expect(subscribes({ events: normaliseEventFilter([]) }, 'PACKAGE_COMPLETE')).toBe(false);
  });
});
