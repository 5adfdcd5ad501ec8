// The one place where errors become HTTP responses. Two dialects, chosen by route family:
// RFC 9457 problem documents everywhere but `/api` (`/v1`, health, unknown routes), and OneSpan's
// error document on `/api` (`/api/callback` and its connectors), because OneSpan's SDKs parse it
// into their `Error` model (SPEC §4.1): `code` must be the HTTP status as an integer and
// `message` a string, or the SDK throws a JSON exception instead of its server error.

import { STATUS_CODES } from 'node:http';
import type { Context } from 'hono';
import { ZodError } from 'zod';
import {
  ErrorCodes,
  HeraldError,
  MethodNotAllowedError,
  type ErrorCode,
  type FieldProblem,
} from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { isStoreUnavailable } from '../domain/store-unavailable.js';

/** `problem`: RFC 9457 (`application/problem+json`). `onespan`: OneSpan's `Error` document. */
export type ErrorDialect = 'problem' | 'onespan';

/** An error on its way out, before it is written in a dialect. */
export interface ErrorAnswer {
  readonly code: ErrorCode;
  /** Human text, safe to show: never a secret, never a stack. */
  readonly detail: string;
  readonly problems?: readonly FieldProblem[] | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * The dialect of a request path (or a raw request target, query and all). `/api` is OneSpan's
 * namespace: its SDKs call `{base}/callback...` under an `/api` base URL.
 */
export function dialectOf(target: string | undefined): ErrorDialect {
  if (target === undefined) return 'problem';
  let path = target;
  if (!path.startsWith('/')) {
    // The absolute form (`GET http://host/api/callback HTTP/1.1`) is valid HTTP/1.1 too.
    try {
      path = new URL(target).pathname;
    } catch {
      return 'problem';
    }
  }
  return /^\/api(?:[/?#]|$)/.test(path) ? 'onespan' : 'problem';
}

const TITLES: Partial<Record<ErrorCode, string>> = {
  invalid_json: 'Invalid JSON',
  invalid_url: 'Invalid URL',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  payload_too_large: 'Payload too large',
  internal_error: 'Internal error',
};

function title(code: ErrorCode): string {
  return TITLES[code] ?? code.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

/** OneSpan's `name`: a short category; its 400s are "Validation Error", the rest the reason phrase. */
function oneSpanName(status: number): string {
  return status === 400 ? 'Validation Error' : (STATUS_CODES[status] ?? 'Error');
}

/** The body and content type of an error document in `dialect`. */
export function errorDocument(
  answer: ErrorAnswer,
  dialect: ErrorDialect,
): { readonly body: string; readonly contentType: string } {
  const { code, detail, problems } = answer;
  const status = ErrorCodes[code];
  if (dialect === 'onespan') {
    return {
      contentType: 'application/json',
      body: JSON.stringify({
        code: status,
        name: oneSpanName(status),
        messageKey: `error.${code}`,
        // The SDK's setter throws on null: a message is always there.
        message: detail === '' ? title(code) : detail,
        technical: (problems ?? []).map((p) => `${p.path}: ${p.message}`).join('; '),
      }),
    };
  }
  return {
    contentType: 'application/problem+json',
    body: JSON.stringify({
      type: `urn:herald:problem:${code}`,
      title: title(code),
      status,
      code,
      detail,
      ...(problems && problems.length > 0 ? { errors: problems } : {}),
    }),
  };
}

/** The error as a Response in `dialect`. */
export function errorAnswer(answer: ErrorAnswer, dialect: ErrorDialect = 'problem'): Response {
  const { body, contentType } = errorDocument(answer, dialect);
  return new Response(body, {
    status: ErrorCodes[answer.code],
    headers: { 'content-type': contentType, ...answer.headers },
  });
}

/** A problem document (`/v1` and everything outside `/api`). */
export function problem(
  code: ErrorCode,
  detail: string,
  problems?: readonly FieldProblem[],
  headers: Record<string, string> = {},
): Response {
  return errorAnswer({ code, detail, problems, headers }, 'problem');
}

/** Seconds a client is asked to wait (`Retry-After`) while the store cannot be reached. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** 503 store_unavailable with `Retry-After`: the store is down or unreachable for now. */
export function storeUnavailable(detail: string): Response {
  return problem('store_unavailable', detail, undefined, {
    'retry-after': String(STORE_RETRY_AFTER_SECONDS),
  });
}

export function zodProblems(error: ZodError, prefix = ''): FieldProblem[] {
  return error.issues.map((issue) => ({
    path: prefix + (issue.path.length > 0 ? issue.path.join('/') : '/'),
    message: issue.message,
  }));
}

/**
 * Answers given before the request body was read to its end: the rest of it is still on the
 * connection, so the connection ends with the answer rather than mistake it for a next request.
 */
const UNREAD_BODY: ReadonlySet<ErrorCode> = new Set(['payload_too_large', 'request_timeout']);

function answerFor(error: unknown, c: Context, logger: Logger): ErrorAnswer {
  if (error instanceof HeraldError) {
    const headers: Record<string, string> =
      error.code === 'unauthorized'
        ? { 'www-authenticate': 'Bearer realm="herald"' }
        : error instanceof MethodNotAllowedError
          ? { allow: error.allow.join(', ') }
          : UNREAD_BODY.has(error.code)
            ? { connection: 'close' }
            : {};
    return { code: error.code, detail: error.message, problems: error.problems, headers };
  }
  if (error instanceof ZodError) {
    const problems = zodProblems(error);
    const first = problems[0];
    return {
      code: 'validation_failed',
      detail: first ? `${first.path}: ${first.message}` : 'Invalid request body',
      problems,
    };
  }
  if (isStoreUnavailable(error)) {
    logger.warn(
      { err: error, method: c.req.method, path: c.req.path },
      'the store is unavailable; answered 503',
    );
    return {
      code: 'store_unavailable',
      detail: 'The store cannot be reached right now; nothing was accepted. Retry shortly.',
      headers: { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) },
    };
  }
  logger.error(
    { err: error, method: c.req.method, path: c.req.path },
    'unhandled error in request',
  );
  return {
    code: 'internal_error',
    detail: 'Something went wrong on our side; the request was not completed',
  };
}

/** Every error the app throws, answered in the dialect of the route it was thrown on. */
export function errorResponse(error: unknown, c: Context, logger: Logger): Response {
  return errorAnswer(answerFor(error, c, logger), dialectOf(c.req.path));
}

/**
 * The whole HTTP answer to a request Node's parser refused before Herald saw it (broken framing,
 * headers over the size limit, too slow to arrive), in the dialect of `target` (the request
 * target, when as much of the request arrived), and the connection ends with it.
 */
export function clientErrorAnswer(
  error: { code?: string; reason?: unknown },
  target?: string,
): string {
  const [code, detail]: [ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['headers_too_large', 'The request headers are larger than this server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['request_timeout', 'The request did not arrive in time']
        : [
            'invalid_request',
            `The request is not valid HTTP/1.1${typeof error.reason === 'string' ? `: ${error.reason}` : ''}`,
          ];
  const status = ErrorCodes[code];
  const { body, contentType } = errorDocument({ code, detail }, dialectOf(target));
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    `content-type: ${contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}
