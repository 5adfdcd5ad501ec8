// @herald/client: publish events to Herald (producer) and verify the callbacks it delivers
// (receiver). No dependencies; Web APIs only (fetch, Web Crypto), so it runs on Node 20+, Deno,
// Bun and Cloudflare Workers.
export {
  HeraldClient,
  HeraldConnectionError,
  HeraldRequestError,
  retryAfterMs,
  type HeraldClientOptions,
  type PublishableEvent,
  type PublishOptions,
} from './producer.js';
export {
  CallbackVerificationError,
  checkCallbackCredentials,
  headerValue,
  isKnownEvent,
  parseCallbackEvent,
  verifyCallback,
  type CallbackEvent,
  type CallbackHeaders,
  type CallbackRequest,
  type VerificationErrorKind,
  type VerifyOptions,
} from './receiver.js';
export { KNOWN_EVENT_NAMES, isKnownEventName, type KnownEventName } from './events.js';
export {
  computeSignature,
  formatSignature,
  secretBytes,
  signatureHeader,
  signaturesIn,
  signedPrefix,
} from './standard-webhooks.js';
