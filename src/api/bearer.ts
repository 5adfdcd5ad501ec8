// A fixed bearer token (HERALD_METRICS_TOKEN) compared in constant time: the digests of what
// was sent and of the token are compared, so neither the token's length nor its prefix shows in
// how long a refusal takes.

import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether an Authorization header carries `token`; with no token, every request passes. */
export function bearerCheck(token: string | null): (authorization: string | undefined) => boolean {
  if (token === null) return () => true;
  const expected = digest(`Bearer ${token}`);
  return (authorization) =>
    authorization !== undefined && timingSafeEqual(digest(authorization), expected);
}
