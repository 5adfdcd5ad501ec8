// OneSpan-compatible transaction events: names, the exact wire payload, and input normalisation.
// The payload is serialised once, at ingest, and the same bytes go to every listener and retry.

import { ValidationError, type FieldProblem } from '../errors.js';
import { jsonShapeProblem } from './json-shape.js';

// The names live in the client package, so the server and every listener share one list.
export {
  KNOWN_EVENT_NAMES,
  isKnownEventName,
  type KnownEventName,
} from '../../packages/client/src/events.js';

/** Names the SDKs use that mean a wire name. */
const ALIASES: Readonly<Record<string, string>> = {
  PACKAGE_READY_FOR_COMPLETION: 'PACKAGE_READY_FOR_COMPLETE',
};

/** Unknown names are accepted in this shape: platforms add events before clients upgrade. */
const NAME_SHAPE = /^[A-Z][A-Z0-9_]{0,99}$/;

export const EVENT_CLASS = 'com.silanis.esl.packages.event.ESLProcessEvent';
export const MAX_EVENT_BYTES = 256 * 1024;
export const MAX_ID_LENGTH = 255;
export const MAX_BATCH = 1000;

/** Returns the wire name for an input name, or undefined when the shape is not a name. */
export function normaliseEventName(input: string): string | undefined {
  if (!NAME_SHAPE.test(input)) return undefined;
  return ALIASES[input] ?? input;
}

/** A normalised event, ready to store. `payload` is the exact body every listener receives. */
export interface NormalisedEvent {
  readonly name: string;
  readonly packageId: string;
  readonly createdDate: string;
  readonly payload: string;
}

const CORE_KEYS = new Set([
  '@class',
  'name',
  'sessionUser',
  'packageId',
  'message',
  'documentId',
  'createdDate',
]);

/** The payload up to the name's value: the class is always the same. */
const PAYLOAD_HEAD = `{"@class":${JSON.stringify(EVENT_CLASS)},"name":`;

const jsonOrNull = (value: string | null): string =>
  value === null ? 'null' : JSON.stringify(value);

function optionalString(
  value: unknown,
  path: string,
  problems: FieldProblem[],
  max = Infinity,
): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    problems.push({ path, message: 'must be a string or null' });
    return null;
  }
  if (value.length > max) problems.push({ path, message: `must be at most ${max} characters` });
  return value;
}

let lastFormatted = { ms: NaN, text: '' };

/** UTC ISO-8601 with milliseconds, the form OneSpan sends. */
export function formatCreatedDate(ms: number): string {
  // A batch stamps every event with the same receipt time: format it once.
  if (ms !== lastFormatted.ms) lastFormatted = { ms, text: new Date(ms).toISOString() };
  return lastFormatted.text;
}

function parseCreatedDate(
  value: unknown,
  path: string,
  problems: FieldProblem[],
  now: number,
): string {
  if (value === undefined || value === null) return formatCreatedDate(now);
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    problems.push({ path, message: 'must be an ISO-8601 date-time string' });
    return '';
  }
  // A date-time without a zone is taken as UTC (OneSpan's createdDate is UTC), never server-local.
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`;
  const ms = Date.parse(zoned);
  if (Number.isNaN(ms)) {
    problems.push({ path, message: 'is not a valid date-time' });
    return '';
  }
  return formatCreatedDate(ms);
}

/**
 * Validates one published event and builds its wire payload: the seven OneSpan keys in order
 * (unused ones as null), then any further fields the publisher attached, in their order.
 * `index` names the position in a batch for error paths.
 */
export function normaliseEvent(input: unknown, now: number, index?: number): NormalisedEvent {
  const at = index === undefined ? '' : `${index}/`;
  const problems: FieldProblem[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('invalid_event', 'An event must be a JSON object', {
      problems: [{ path: at || '/', message: 'must be a JSON object' }],
    });
  }
  const raw = input as Record<string, unknown>;

  let name = '';
  if (typeof raw.name !== 'string' || raw.name === '') {
    problems.push({ path: `${at}name`, message: 'is required and must be a string' });
  } else {
    const normalised = normaliseEventName(raw.name);
    if (normalised === undefined) {
      problems.push({
        path: `${at}name`,
        message: 'must be upper case letters, digits and underscores, starting with a letter',
      });
    } else name = normalised;
  }
  let packageId = '';
  if (typeof raw.packageId !== 'string' || raw.packageId === '') {
    problems.push({ path: `${at}packageId`, message: 'is required and must be a string' });
  } else if (raw.packageId.length > MAX_ID_LENGTH) {
    problems.push({
      path: `${at}packageId`,
      message: `must be at most ${MAX_ID_LENGTH} characters`,
    });
  } else packageId = raw.packageId;
  if (raw['@class'] !== undefined && raw['@class'] !== null && raw['@class'] !== EVENT_CLASS) {
    problems.push({ path: `${at}@class`, message: `must be absent or ${EVENT_CLASS}` });
  }
  const sessionUser = optionalString(raw.sessionUser, `${at}sessionUser`, problems, MAX_ID_LENGTH);
  const message = optionalString(raw.message, `${at}message`, problems);
  const documentId = optionalString(raw.documentId, `${at}documentId`, problems);
  const createdDate = parseCreatedDate(raw.createdDate, `${at}createdDate`, problems, now);
  if (raw.selectedSupportBusinessHours !== undefined && raw.selectedSupportBusinessHours !== null) {
    const hours = raw.selectedSupportBusinessHours;
    if (!Array.isArray(hours) || hours.some((h) => typeof h !== 'string')) {
      problems.push({
        path: `${at}selectedSupportBusinessHours`,
        message: 'must be an array of strings',
      });
    }
  }
  // NUL characters and deep nesting, in any field (before anything walks it recursively).
  const shape = jsonShapeProblem(raw, index === undefined ? '' : String(index));
  if (shape) problems.push(shape);
  if (problems.length > 0) {
    throw new ValidationError('invalid_event', describe(problems), { problems });
  }

  // Built as text, not as one object: JavaScript would put integer-like extra keys ("42") first.
  // The core keys are written around each value's JSON, as JSON.stringify would write them, and
  // joined once: one flat string (0.8 µs an event against 1.2 for stringifying an object of
  // them), not a tree of concatenations that a garbage collection would copy node by node while
  // the publish waits for its commit.
  const parts = [
    PAYLOAD_HEAD,
    JSON.stringify(name),
    ',"sessionUser":',
    jsonOrNull(sessionUser),
    ',"packageId":',
    JSON.stringify(packageId),
    ',"message":',
    jsonOrNull(message),
    ',"documentId":',
    jsonOrNull(documentId),
    ',"createdDate":',
    JSON.stringify(createdDate),
  ];
  for (const key of Object.keys(raw)) {
    if (!CORE_KEYS.has(key) && raw[key] !== undefined) {
      parts.push(',', JSON.stringify(key), ':', JSON.stringify(raw[key]));
    }
  }
  parts.push('}');
  const payload = parts.join('');
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most payloads need no count.
  if (payload.length > MAX_EVENT_BYTES / 3 && Buffer.byteLength(payload) > MAX_EVENT_BYTES) {
    throw new ValidationError(
      'payload_too_large',
      `An event must be at most ${MAX_EVENT_BYTES / 1024} KiB`,
    );
  }
  return { name, packageId, createdDate, payload };
}

function describe(problems: readonly FieldProblem[]): string {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : '';
  return `Invalid event: ${first.path} ${first.message}${more}`;
}
