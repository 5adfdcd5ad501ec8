// The problem documents of /v1 (RFC 9457), as every refusal must look.

import { expect } from 'vitest';
import type { ApiResponse } from './herald.js';

/** A problem+json answer with this status (and code), no stack trace. */
export function expectProblem(res: ApiResponse, status: number, code?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body).toMatchObject({
    status,
    type: expect.stringMatching(/^urn:herald:problem:/),
    detail: expect.any(String),
  });
  if (code) expect(res.body.code).toBe(code);
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
}
