// What OneSpan's Java SDK (v11.68.0, github OneSpan/esl.sdk.java) needs from Herald's answers on
// /api/callback, written as assertions. Its RestClient parses every 4xx/5xx body into
// `com.silanis.esl.api.model.Error` (unknown fields ignored): `code` is an Integer, and the
// setters of `message`, `messageKey` and `name` throw on null; a body that does not parse reaches
// the caller as a bare EslException instead of EslServerException. Successful answers are read
// into `Callback`, whose setters throw on a null `url`, `key` or `events`.

import { expect } from 'vitest';
import type { ApiResponse } from './herald.js';

/** The request headers the SDK sends (RestClient): raw API key as Basic, its media type. */
export function sdkHeaders(apiKey: string): Record<string, string> {
  return {
    authorization: `Basic ${apiKey}`,
    accept: 'application/json; esl-api-version=11.68.0',
    'content-type': 'application/json; esl-api-version=11.68.0',
  };
}

/** An error answer the SDK turns into EslServerException with the server error parsed. */
export function expectSdkError(res: ApiResponse, status: number, code?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toEqual({
    code: status,
    name: expect.any(String),
    messageKey: expect.stringMatching(/^error\.[a-z_]+$/),
    message: expect.any(String),
    technical: expect.any(String),
  });
  expect(Number.isInteger(body.code)).toBe(true);
  expect((body.message as string).trim()).not.toBe('');
  expect((body.name as string).trim()).not.toBe('');
  if (code) expect(body.messageKey).toBe(`error.${code}`);
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
}

/** A configuration the SDK reads into `Callback` without its setters throwing. */
export function expectSdkCallback(body: unknown): void {
  expect(body).toMatchObject({
    url: expect.any(String),
    key: expect.any(String),
    events: expect.any(Array),
  });
  for (const event of (body as { events: unknown[] }).events) expect(typeof event).toBe('string');
}
