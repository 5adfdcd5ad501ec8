import { describe, expect, it } from 'vitest';
import { classifyTokenError, explainTokenError } from '../../src/domain/token-errors.js';

describe('classifyTokenError', () => {
  it.each([
    [400, 'invalid_grant', 'token request is already being processed', 'concurrent'],
    [400, 'invalid_grant', 'expired authorization code', 'concurrent'],
    [400, 'invalid_grant', 'expired access/refresh token', 'terminal'],
    [400, 'invalid_grant', 'inactive user', 'terminal'],
    [400, 'invalid_grant', 'authentication failure', 'terminal'],
    [400, 'invalid_grant', 'no client credentials user enabled', 'terminal'],
    [400, 'invalid_grant', 'request not supported on this domain', 'terminal'],
    [400, 'invalid_grant', undefined, 'terminal'],
    [400, 'invalid_client_id', 'client identifier invalid', 'terminal'],
    [401, 'invalid_client', 'invalid client credentials', 'terminal'],
    [400, 'unauthorized_client', undefined, 'terminal'],
    [400, 'unsupported_grant_type', undefined, 'terminal'],
    [400, 'invalid_scope', undefined, 'terminal'],
    [404, undefined, undefined, 'terminal'],
    [500, 'server_error', undefined, 'transient'],
    [502, undefined, undefined, 'transient'],
    [503, 'temporarily_unavailable', undefined, 'transient'],
    [429, undefined, undefined, 'transient'],
    [408, undefined, undefined, 'transient'],
  ] as const)('%i %s %s -> %s', (status, error, description, kind) => {
    expect(classifyTokenError(status, error, description)).toBe(kind);
  });

  it('explains terminal refusals with what to do, quoting the server', () => {
    expect(explainTokenError('invalid_grant', 'expired access/refresh token')).toMatch(
      /Reconnect the endpoint/,
    );
    expect(explainTokenError('invalid_grant', 'expired access/refresh token')).toContain(
      'expired access/refresh token',
    );
    expect(explainTokenError('invalid_client', 'invalid client credentials')).toMatch(
      /client id and secret/,
    );
    expect(explainTokenError(undefined, undefined)).toMatch(/no error given/);
  });
});
