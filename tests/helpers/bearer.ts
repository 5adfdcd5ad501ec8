// Bearer tokens as a token source hands them out, for the tests of what uses them.

import type { Authorization } from '../../src/delivery/credentials.js';

/** The bearer token of one generation. */
export const bearerToken = (generation: number): Authorization & { ok: true } => ({
  ok: true,
  header: `Bearer token-${generation}`,
  bearer: true,
  generation,
});
