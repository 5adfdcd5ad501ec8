// Herald's TypeScript client library: publish events (producer), verify and read callbacks (receiver).
export {
  HeraldClient,
  HeraldRequestError,
  type HeraldClientOptions,
  type PublishableEvent,
} from './producer.js';
export {
  CallbackVerificationError,
  isKnownEvent,
  parseCallbackEvent,
  verifyCallback,
  type CallbackEvent,
  type VerifyOptions,
} from './receiver.js';
export { KNOWN_EVENT_NAMES, type KnownEventName } from '../domain/events.js';
