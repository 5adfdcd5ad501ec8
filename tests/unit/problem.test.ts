// The one error writer: which dialect a route family speaks, and that every error code, present
// and future, comes out in a shape its readers parse (OneSpan's SDKs on /api, RFC 9457 on /v1).

import { describe, expect, it } from 'vitest';
import { dialectOf, errorDocument, clientErrorAnswer } from '../../src/api/problem.js';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';

describe('dialectOf', () => {
  it.each([
    ['/api/callback', 'onespan'],
    ['/api/callback/connectors/salesforceOauth2', 'onespan'],
    ['/api/callback?x=1', 'onespan'],
    ['/api', 'onespan'],
    ['/api/packages', 'onespan'],
    ['http://herald.example.com/api/callback', 'onespan'],
    ['/apis', 'problem'],
    ['/v1/endpoints', 'problem'],
    ['/v1/api/callback', 'problem'],
    ['/', 'problem'],
    ['*', 'problem'],
    [undefined, 'problem'],
  ] as const)('%s speaks %s', (path, dialect) => {
    expect(dialectOf(path)).toBe(dialect);
  });
});

describe('errorDocument', () => {
  const codes = Object.keys(ErrorCodes) as ErrorCode[];

  it.each(codes)('writes %s as OneSpan’s Error: integer code, non-empty strings', (code) => {
    const problems = [{ path: 'url', message: 'is wrong' }];
    const { body, contentType } = errorDocument(
      { code, detail: 'What went wrong', problems },
      'onespan',
    );
    expect(contentType).toBe('application/json');
    const parsed = JSON.parse(body) as Record<string, unknown>;
    expect(parsed).toEqual({
      code: ErrorCodes[code],
      name: expect.stringMatching(/\S/),
      messageKey: `error.${code}`,
      message: 'What went wrong',
      technical: 'url: is wrong',
    });
    expect(Number.isInteger(parsed.code)).toBe(true);
  });

  it.each(codes)('writes %s as a problem document', (code) => {
    const { body, contentType } = errorDocument({ code, detail: 'What went wrong' }, 'problem');
    expect(contentType).toBe('application/problem+json');
    expect(JSON.parse(body)).toEqual({
      type: `urn:herald:problem:${code}`,
      title: expect.any(String),
      status: ErrorCodes[code],
      code,
      detail: 'What went wrong',
    });
  });

  it('never leaves OneSpan’s message empty, and names 400s as OneSpan does', () => {
    const { body } = errorDocument({ code: 'invalid_json', detail: '' }, 'onespan');
    expect(JSON.parse(body)).toMatchObject({
      name: 'Validation Error',
      message: 'Invalid JSON',
      technical: '',
    });
    expect(JSON.parse(errorDocument({ code: 'not_found', detail: 'x' }, 'onespan').body).name).toBe(
      'Not Found',
    );
  });
});

describe('clientErrorAnswer', () => {
  it('answers in the dialect of the request target it was given', () => {
    const onespan = clientErrorAnswer({ code: 'HPE_HEADER_OVERFLOW' }, '/api/callback');
    expect(onespan).toMatch(/^HTTP\/1\.1 431 /);
    expect(onespan).toContain('content-type: application/json\r\n');
    expect(JSON.parse(onespan.slice(onespan.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 431 });
    const problem = clientErrorAnswer({ code: 'HPE_INVALID_METHOD' });
    expect(problem).toContain('content-type: application/problem+json\r\n');
  });
});
