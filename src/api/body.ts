// Reading request bodies with a hard size cap (checked while streaming, not only from
// Content-Length), JSON bodies outlined on their bytes before they are parsed (nesting depth,
// batch size), and malformed JSON turned into a clear 400.

import type { Context } from 'hono';
import type { z } from 'zod';
import { parseId, type IdKind } from '../domain/ids.js';
import { JsonOutline } from '../domain/json-outline.js';
import { jsonShapeProblem, MAX_JSON_DEPTH } from '../domain/json-shape.js';
import { ValidationError } from '../errors.js';
import { zodProblems } from './problem.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** The error for a request body over `maxBytes`. */
export function bodyTooLarge(maxBytes: number): ValidationError {
  return new ValidationError(
    'payload_too_large',
    `The request body must be at most ${Math.round(maxBytes / 1024)} KiB`,
  );
}

/** The request's Content-Length, or undefined for a chunked body (or a length that is not one). */
export function declaredLength(c: Context): number | undefined {
  const length = Number(c.req.header('content-length') ?? NaN);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * What a JSON body may be, checked on its bytes as they arrive, before JSON.parse builds it: a
 * body past these bounds is refused at the cost of reading it, whatever its shape.
 */
export interface JsonBounds {
  /** Deepest nesting of a document whose root is an object (or a scalar). */
  readonly maxDepth: number;
  /** Deepest nesting of a document whose root is an array. */
  readonly maxArrayDepth: number;
  /** Most elements of a root array. */
  readonly maxItems: number;
  /** Largest element of a root array, in bytes; and of a document that is not an array. */
  readonly maxItemBytes: number;
  /** The refusal of an outline past the bounds. */
  refuse(outline: JsonOutline): ValidationError;
}

/** Every JSON body but a publish: at most 32 levels (the depth every stored document keeps). */
export const BODY_BOUNDS: JsonBounds = {
  maxDepth: MAX_JSON_DEPTH,
  maxArrayDepth: MAX_JSON_DEPTH,
  maxItems: Infinity,
  maxItemBytes: Infinity,
  refuse: () => {
    const message = `nests more than ${MAX_JSON_DEPTH} levels of objects and arrays`;
    return new ValidationError('validation_failed', `The request body ${message}`, {
      problems: [{ path: '/', message }],
    });
  },
};

/** The refusal of `outline` under `bounds`, or undefined while it is within them. */
function outOfBounds(bounds: JsonBounds, outline: JsonOutline): ValidationError | undefined {
  const depth = outline.rootArray ? bounds.maxArrayDepth : bounds.maxDepth;
  const itemBytes = outline.rootArray ? outline.largestItem : outline.bytes;
  return outline.deepest > depth ||
    outline.items > bounds.maxItems ||
    itemBytes > bounds.maxItemBytes
    ? bounds.refuse(outline)
    : undefined;
}

/** The client went away (or broke the framing) before its body was whole. */
function cutOff(): ValidationError {
  return new ValidationError(
    'invalid_request',
    'The request body ended before it was complete (the connection was closed)',
  );
}

/**
 * Reads the whole body, at most `maxBytes`. `take`, when given, is awaited for each chunk as it
 * arrives, before the next is read (the publish budget counts bytes that way): the body is then
 * streamed even when its length is declared. With `bounds`, the body is outlined as it arrives
 * and refused once past them: the rest is read and dropped, so it costs time, not memory.
 */
export function readBody(
  c: Context,
  maxBytes: number,
  take?: (bytes: number) => Promise<void> | void,
  bounds?: JsonBounds,
): Promise<string> {
  // A socket error here is the client's (ECONNRESET, aborted), not the store's: it must not be
  // reported as a store outage.
  return readWholeBody(c, maxBytes, take, bounds).catch((error: unknown) => {
    throw error instanceof ValidationError ? error : cutOff();
  });
}

async function readWholeBody(
  c: Context,
  maxBytes: number,
  take: ((bytes: number) => Promise<void> | void) | undefined,
  bounds: JsonBounds | undefined,
): Promise<string> {
  const tooLarge = () => bodyTooLarge(maxBytes);
  const declared = declaredLength(c);
  if (declared !== undefined && declared > maxBytes) throw tooLarge();
  const outline =
    bounds &&
    new JsonOutline(
      Math.max(bounds.maxDepth, bounds.maxArrayDepth),
      bounds.maxItems,
      bounds.maxItemBytes,
    );
  // With a declared length within the limit (HTTP framing holds the client to it), read the
  // body directly: much cheaper than a web stream per request. Chunked bodies, and bodies
  // counted as they arrive, are streamed.
  if (declared !== undefined && !take) {
    const bytes = new Uint8Array(await c.req.raw.arrayBuffer());
    if (outline) {
      outline.feed(bytes);
      const refused = outOfBounds(bounds!, outline);
      if (refused) throw refused;
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
  const stream = c.req.raw.body;
  if (!stream) return '';
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let refused: ValidationError | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    if (refused) continue;
    if (outline) {
      outline.feed(value);
      refused = outOfBounds(bounds!, outline);
      if (refused) {
        chunks.length = 0;
        continue;
      }
    }
    if (take) await take(value.byteLength);
    chunks.push(value);
  }
  if (refused) throw refused;
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJson(text: string): unknown {
  if (text.trim() === '')
    throw new ValidationError('invalid_json', 'The request body is empty; send a JSON document');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // A SyntaxError says where; anything else (V8 running out of stack) is still the body's fault.
    const reason = error instanceof SyntaxError ? error.message : 'malformed';
    throw new ValidationError('invalid_json', `The request body is not valid JSON: ${reason}`);
  }
}

/** Reads, parses and validates a JSON body against a schema. */
export async function jsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  maxBytes = DEFAULT_BODY_LIMIT,
): Promise<z.infer<S>> {
  const value = parseJson(await readBody(c, maxBytes, undefined, BODY_BOUNDS));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('invalid_request', 'The request body must be a JSON object');
  }
  const shape = jsonShapeProblem(value);
  if (shape) {
    throw new ValidationError('validation_failed', `${shape.path}: ${shape.message}`, {
      problems: [shape],
    });
  }
  return validated(schema, value, 'validation_failed');
}

/** `value` checked against `schema`; a ValidationError with `code` naming the first problem. */
export function validated<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: 'validation_failed' | 'invalid_request',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = zodProblems(result.error);
    const first = problems[0]!;
    throw new ValidationError(code, `${first.path}: ${first.message}`, { problems });
  }
  return result.data;
}

/** Parses an ISO-8601 query or body time; a clear 400 when malformed. */
export function parseTime(value: string, name: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new ValidationError(
      'invalid_request',
      `${name} must be an ISO-8601 date-time, e.g. 2026-01-31T12:00:00Z`,
    );
  }
  return ms;
}

/**
 * A `since`/`until` pair, either one optional (empty counts as absent; `untilDefault` stands in
 * for a missing `until`); a clear 400 when `until` is not after `since`.
 */
export function timeRange(
  since: string | undefined,
  until: string | undefined,
  untilDefault?: number,
): { since: number | undefined; until: number | undefined } {
  const from = since ? parseTime(since, 'since') : undefined;
  const to = until ? parseTime(until, 'until') : untilDefault;
  if (from !== undefined && to !== undefined && to <= from) {
    throw new ValidationError('invalid_request', 'until must be after since');
  }
  return { since: from, until: to };
}

/** A `cursor` query parameter: null when absent, otherwise an id of the listed kind. */
export function pageCursor(kind: IdKind, value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!parseId(kind, value)) {
    throw new ValidationError(
      'invalid_cursor',
      'cursor must be the `next` value of a previous page',
    );
  }
  return value;
}
