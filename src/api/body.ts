// Reading request bodies with a hard size cap (checked while streaming, not only from
// Content-Length) and turning malformed JSON into a clear 400.

import type { Context } from 'hono';
import type { z } from 'zod';
import { parseId, type IdKind } from '../domain/ids.js';
import { jsonShapeProblem } from '../domain/json-shape.js';
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
 * streamed even when its length is declared.
 */
export function readBody(
  c: Context,
  maxBytes: number,
  take?: (bytes: number) => Promise<void> | void,
): Promise<string> {
  // A socket error here is the client's (ECONNRESET, aborted), not the store's: it must not be
  // reported as a store outage.
  return readWholeBody(c, maxBytes, take).catch((error: unknown) => {
    throw error instanceof ValidationError ? error : cutOff();
  });
}

async function readWholeBody(
  c: Context,
  maxBytes: number,
  take: ((bytes: number) => Promise<void> | void) | undefined,
): Promise<string> {
  const tooLarge = () => bodyTooLarge(maxBytes);
  const declared = declaredLength(c);
  if (declared !== undefined && declared > maxBytes) throw tooLarge();
  // With a declared length within the limit (HTTP framing holds the client to it), read the
  // body directly: much cheaper than a web stream per request. Chunked bodies, and bodies
  // counted as they arrive, are streamed.
  if (declared !== undefined && !take) return c.req.raw.text();
  const stream = c.req.raw.body;
  if (!stream) return '';
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    if (take) await take(value.byteLength);
    chunks.push(value);
  }
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
  const value = parseJson(await readBody(c, maxBytes));
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
