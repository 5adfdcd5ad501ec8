// What one delivery request carried of Herald's credentials, so that the listener's answer is
// stored without them (domain/redact.ts): the Authorization header's credential (a bearer token
// or the Basic key) as sent and in base64 (as a listener may echo it), and the custom header
// values. Signing secrets never leave Herald (only signatures do), so they cannot come back.

import type { Endpoint } from '../domain/endpoint.js';
import { redact } from '../domain/redact.js';

/**
 * `body` (a listener's answer) without the credentials its request carried. Worked out only
 * for a body that is kept, and a credential absent from it costs one `includes`.
 */
export function withoutSentCredentials(
  body: string,
  endpoint: Endpoint,
  authorization: string | undefined,
): string {
  if (body === '') return body;
  const secrets = endpoint.customHeaders.map((h) => h.value);
  if (authorization !== undefined) {
    const credential = authorization.slice(authorization.indexOf(' ') + 1);
    secrets.push(credential, Buffer.from(credential).toString('base64'));
  }
  return redact(body, secrets);
}
