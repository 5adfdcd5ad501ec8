// Herald's error vocabulary: a few classes, many stable string codes.
// Every code is listed in docs/errors.md (tests/unit/docs-sync.test.ts keeps the two in step).
// The HTTP status of each code lives here too, so the API maps errors in exactly one place.

export const ErrorCodes = {
  // 400 — the request could not be understood
  invalid_json: 400,
  invalid_request: 400,
  validation_failed: 400,
  invalid_url: 400,
  invalid_event: 400,
  invalid_header: 400,
  invalid_cursor: 400,
  batch_too_large: 400,
  // 401 / 403 — who is asking
  unauthorized: 401,
  forbidden: 403,
  // 404 / 405 / 408 / 409 / 413 / 422 / 431
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  request_timeout: 408,
  headers_too_large: 431,
  destination_not_allowed: 422,
  invalid_credentials: 422,
  secret_required: 422,
  // 5xx — our fault or a dependency's; never carries internals
  upstream_error: 502,
  store_unavailable: 503,
  not_ready: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface FieldProblem {
  /** JSON pointer-ish path of the offending field, e.g. `customHeaders/2/key`. */
  readonly path: string;
  readonly message: string;
}

/** Base class. `message` is safe to show to the caller: it never contains a secret. */
export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly problems: readonly FieldProblem[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; problems?: readonly FieldProblem[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.problems = options?.problems;
  }

  get status(): number {
    return ErrorCodes[this.code];
  }
}

/** Input at an edge (API body, flag, environment variable) is not acceptable. */
export class ValidationError extends HeraldError {}

/** The caller is not who it must be, or may not do this. */
export class AuthError extends HeraldError {}

/** A thing the caller named does not exist in its account. */
export class NotFoundError extends HeraldError {
  constructor(what: string, id: string) {
    super('not_found', `${what} ${JSON.stringify(id)} was not found`);
  }
}

/** The route exists, but not for this method; `allow` lists the methods it answers. */
export class MethodNotAllowedError extends HeraldError {
  constructor(
    method: string,
    path: string,
    readonly allow: readonly string[],
  ) {
    super('method_not_allowed', `${method} is not allowed on ${path}; use ${allow.join(', ')}`);
  }
}

/** Server configuration is wrong; raised at start-up, never per request. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
