// Narrowing an outbound SendResult in tests, with the other outcome's details in the failure.

import type { SendResult } from '../../src/net/outbound.js';

export function expectOk(result: SendResult): Extract<SendResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected success, got ${result.failure}: ${result.message}`);
  return result;
}

export function expectFailure(result: SendResult): Extract<SendResult, { ok: false }> {
  if (result.ok) throw new Error(`expected a failure, got status ${result.status}`);
  return result;
}
