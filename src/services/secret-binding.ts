// A stored secret goes only where it was given for: a Basic key and custom header values to the
// callback URL's origin (scheme, host, port), a client secret and a refresh token to the token
// endpoint's origin (for a salesforceOauth2 key, its host). A masked value (`****7f3a`, as
// responses show secrets) or a left-out one means "keep what is stored": fine while that origin
// stays, refused (`secret_required`, naming each field to send again) when the change moves it.
// Otherwise anyone holding an API key could send a stored secret to a host of their choosing,
// and read it there.

import { ValidationError, type FieldProblem } from '../errors.js';
import type { Destination, SecretName } from '../domain/auth-types.js';
import { isMasked, originOf, type Endpoint, type KeyValue } from '../domain/endpoint.js';

/**
 * Where a request names each secret, so that a refusal says which field to send again. Which
 * secrets an auth type keeps, and where each goes, is its declaration's (domain/auth-types.ts).
 */
export type SecretFields = { readonly [N in SecretName | 'customHeaders']: string };

/** The names of the native API's endpoint body (/v1). */
export const NATIVE_FIELDS: SecretFields = {
  key: 'auth/key',
  clientSecret: 'auth/clientSecret',
  refreshToken: 'auth/refreshToken',
  customHeaders: 'customHeaders',
};

/** How OneSpan's `Callback` (`/api/callback`) names the secrets. */
export const CALLBACK_FIELDS: SecretFields = {
  key: 'key',
  clientSecret: 'oauthSetting/clientSecret',
  refreshToken: 'oauthSetting/refreshToken',
  customHeaders: 'customHeaders',
};

/** How PUT /v1/endpoints/{id}/credentials names the secrets. */
export const CREDENTIALS_FIELDS: SecretFields = {
  key: 'key',
  clientSecret: 'clientSecret',
  refreshToken: 'refreshToken',
  customHeaders: 'customHeaders',
};

/** Where each destination is, before and after a change. */
const DESTINATIONS: {
  readonly [D in Destination]: {
    before(e: Endpoint | undefined): string | undefined;
    after(change: Destinations): string | null;
  };
} = {
  'callback URL': { before: (e) => e?.url, after: (change) => change.url },
  'token endpoint': { before: (e) => e?.oauth?.tokenUrl, after: (change) => change.tokenUrl },
};

/** Where a changed endpoint sends: its callback URL and, for OAuth, its token endpoint. */
export interface Destinations {
  readonly url: string;
  readonly tokenUrl: string | null;
}

/**
 * One change of an endpoint: which destinations it moves, and what must be sent again for that.
 * Refusals are collected, so one answer names every field; `check` throws them.
 */
export class SecretMoves {
  private readonly problems: FieldProblem[] = [];

  constructor(
    private readonly before: Endpoint | undefined,
    private readonly after: Destinations,
    readonly fields: SecretFields,
  ) {}

  /** `from -> to` when the change sends this destination's secrets to another origin. */
  private move(destination: Destination): { from: string; to: string } | undefined {
    const from = DESTINATIONS[destination].before(this.before);
    const to = DESTINATIONS[destination].after(this.after);
    if (from === undefined || to === null) return undefined;
    const [a, b] = [originOf(from), originOf(to)];
    return a === b ? undefined : { from: a, to: b };
  }

  /**
   * A stored secret the change keeps (it was masked or left out): refused when its destination
   * moves. `how` says what the request did with it.
   */
  keep(field: string, destination: Destination, how: 'is masked' | 'is left out'): void {
    const moved = this.move(destination);
    if (!moved) return;
    this.problems.push({
      path: field,
      message: `${how}, and the ${destination} moves from ${moved.from} to ${moved.to}: the stored secret is only sent to ${moved.from}. Send it again in full`,
    });
  }

  /** Whether the change sends the destination's secrets to another origin. */
  moves(destination: Destination): boolean {
    return this.move(destination) !== undefined;
  }

  /**
   * Custom headers with masked values resolved to the stored ones (by header name); `undefined`
   * (left out) keeps the stored headers.
   */
  headers(draft: readonly KeyValue[] | undefined, stored: readonly KeyValue[]): KeyValue[] {
    if (draft === undefined) {
      if (stored.length > 0) this.keep(this.fields.customHeaders, 'callback URL', 'is left out');
      return [...stored];
    }
    return draft.map((header, i) => {
      if (!isMasked(header.value)) return header;
      const field = `${this.fields.customHeaders}/${i}/value`;
      const name = header.key.toLowerCase();
      const kept = stored.find((h) => h.key.toLowerCase() === name);
      if (!kept) {
        throw new ValidationError(
          'invalid_credentials',
          `${field} is masked but no value is stored for header ${header.key}; send the full value`,
          { problems: [{ path: field, message: 'is masked but no value is stored; send it' }] },
        );
      }
      this.keep(field, 'callback URL', 'is masked');
      return { key: header.key, value: kept.value };
    });
  }

  /** Throws every refusal collected, as one `secret_required`. */
  check(): void {
    const first = this.problems[0];
    if (!first) return;
    const more = this.problems.length > 1 ? ` (and ${this.problems.length - 1} more)` : '';
    throw new ValidationError('secret_required', `${first.path} ${first.message}${more}`, {
      problems: this.problems,
    });
  }
}
