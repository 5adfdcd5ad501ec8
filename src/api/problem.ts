// RFC 9457 problem details: the one place where errors become HTTP responses.

import { STATUS_CODES } from 'node:http';
import type { Context } from 'hono';
import { ZodError } from 'zod';
import { ErrorCodes, HeraldError, type ErrorCode, type FieldProblem } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { isStoreUnavailable } from '../store/unavailable.js';

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

export function problemBody(
  code: ErrorCode,
  detail: string,
  problems?: readonly FieldProblem[],
): string {
  return JSON.stringify({
    type: `urn:herald:problem:${code}`,
    title: title(code),
    status: ErrorCodes[code],
    code,
    detail,
    ...(problems && problems.length > 0 ? { errors: problems } : {}),
  });
}

export function problem(
  code: ErrorCode,
  detail: string,
  problems?: readonly FieldProblem[],
  headers: Record<string, string> = {},
): Response {
  return new Response(problemBody(code, detail, problems), {
    status: ErrorCodes[code],
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
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

export function errorResponse(error: unknown, c: Context, logger: Logger): Response {
  if (error instanceof HeraldError) {
    const headers: Record<string, string> =
      error.code === 'unauthorized'
        ? { 'www-authenticate': 'Bearer realm="herald"' }
        : UNREAD_BODY.has(error.code)
          ? { connection: 'close' }
          : {};
    return problem(error.code, error.message, error.problems, headers);
  }
  if (error instanceof ZodError) {
    const problems = zodProblems(error);
    const first = problems[0];
    return problem(
      'validation_failed',
      first ? `${first.path}: ${first.message}` : 'Invalid request body',
      problems,
    );
  }
  if (isStoreUnavailable(error)) {
    logger.warn(
      { err: error, method: c.req.method, path: c.req.path },
      'the store is unavailable; answered 503',
    );
    return storeUnavailable(
      'The store cannot be reached right now; nothing was accepted. Retry shortly.',
    );
  }
  logger.error(
    { err: error, method: c.req.method, path: c.req.path },
    'unhandled error in request',
  );
  return problem(
    'internal_error',
    'Something went wrong on our side; the request was not completed',
  );
}

/**
 * The whole HTTP answer to a request Node's parser refused before Herald saw it (broken framing,
 * headers over the size limit, too slow to arrive): the same problem document as every other
 * error, and the connection ends with it.
 */
export function clientErrorAnswer(error: { code?: string; reason?: unknown }): string {
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
  const body = problemBody(code, detail);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
    `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `connection: close\r\n\r\n${body}`
  );
}
