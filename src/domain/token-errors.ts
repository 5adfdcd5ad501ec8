// What a token endpoint's refusal means for a credential. Pure and table-tested.
//
// - concurrent: another request is refreshing the same refresh token right now (Salesforce:
//   "token request is already being processed"; before Winter '25 "expired authorization code").
//   Back off, re-read the stored token (someone may have refreshed), try again a few times.
// - terminal: the credential is dead or wrong; a person must reconnect. Never send it again.
// - transient: the server or the network failed; try again later without spending attempts.

export type TokenErrorKind = 'concurrent' | 'terminal' | 'transient';

const CONCURRENT = [/token request is already being processed/i, /expired authorization code/i];
const TERMINAL_ERRORS = new Set([
  'invalid_grant',
  'invalid_client',
  'invalid_client_id',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_request',
  'access_denied',
]);

export function classifyTokenError(
  status: number,
  error: string | undefined,
  description: string | undefined,
): TokenErrorKind {
  if (status >= 500 || status === 429 || status === 408) return 'transient';
  if (error === 'invalid_grant' && CONCURRENT.some((re) => re.test(description ?? ''))) {
    return 'concurrent';
  }
  if (error !== undefined && TERMINAL_ERRORS.has(error)) return 'terminal';
  // Any other 4xx: the request itself is wrong (token URL, client configuration); a retry
  // cannot fix it, so it waits for a person instead of burning deliveries.
  return status >= 400 ? 'terminal' : 'transient';
}

/** A sentence for people about a terminal refusal: what happened and what to do. */
export function explainTokenError(
  error: string | undefined,
  description: string | undefined,
): string {
  const said = [error, description].filter(Boolean).join(': ') || 'no error given';
  switch (error) {
    case 'invalid_grant':
      return `The authorization server refused the credential (${said}): the refresh token was revoked, expired, replaced, or the user must approve the app again. Reconnect the endpoint with a new refresh token.`;
    case 'invalid_client':
    case 'invalid_client_id':
    case 'unauthorized_client':
      return `The authorization server refused the client (${said}): check the client id and secret, and that the app may use this grant.`;
    default:
      return `The token endpoint refused the request (${said}); fix the endpoint's OAuth settings and reconnect.`;
  }
}
