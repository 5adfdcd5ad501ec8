// Small HTTP helpers shared by the sandbox's routes: reading OAuth form bodies, answering in
// Salesforce's error shapes, and pulling a bearer token out of a request.

import type { Context } from 'hono';

/** An OAuth error as Salesforce's token endpoint reports it (HTTP 400 there). */
export interface OAuthError {
  readonly error: string;
  readonly description: string;
}

export const oauthError = (error: string, description: string): OAuthError => ({
  error,
  description,
});

/** The form parameters of an OAuth request; bodies of any other type count as empty. */
export async function readForm(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? '';
  if (type !== '' && !type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams();
  }
  return new URLSearchParams(await c.req.text());
}

// Token responses must never be cached (RFC 6749 §5.1).
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

export function sendOAuthError(c: Context, err: OAuthError, status: 400 | 401 = 400): Response {
  return c.json({ error: err.error, error_description: err.description }, status, NO_STORE);
}

export function sendTokenJson(c: Context, body: object): Response {
  return c.json(body, 200, NO_STORE);
}

/** Salesforce's answer to an expired, revoked or unknown session, byte for byte. */
export const SESSION_INVALID = [
  { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
];

/** Same error code, but a refresh cannot fix it: the token lacks the `api` scope. */
export const SESSION_NOT_FOR_REST = [
  {
    message: 'This session is not valid for use with the REST API',
    errorCode: 'INVALID_SESSION_ID',
  },
];

/** The token of `Authorization: Bearer <token>` (or Salesforce's older `OAuth <token>`). */
export function bearerOf(authorization: string | undefined): string | undefined {
  const match = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** The bearer token of a request, if it carries one. */
export function bearerToken(c: Context): string | undefined {
  return bearerOf(c.req.header('authorization'));
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
