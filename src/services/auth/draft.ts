// What an auth type's input becomes before it is stored: a draft whose secrets are either new
// values or KEEP (a masked value sent back: keep what is stored, while it goes where it went).

import { ValidationError } from '../../errors.js';
import { isMasked, type OAuthSettings } from '../../domain/endpoint.js';
import { z } from 'zod';

/** A masked secret sent back unchanged: keep what is stored (while it goes where it went). */
export const KEEP = Symbol('keep the stored secret');
export type SecretInput = string | typeof KEEP;

export type AuthDraft =
  | { readonly type: 'NONE' }
  | { readonly type: 'BASIC'; readonly key: SecretInput }
  | {
      readonly type: 'OAUTH2';
      readonly oauth: OAuthSettings;
      readonly clientSecret: SecretInput | null;
      readonly refreshToken: SecretInput | null;
    };

export function secretInput(value: string): SecretInput {
  return isMasked(value) ? KEEP : value;
}

export function invalid(path: string, message: string): ValidationError {
  return new ValidationError('validation_failed', `${path} ${message}`, {
    problems: [{ path, message }],
  });
}

/** A `{key, value}` pair: custom headers, OAuth custom parameters. */
export const KeyValueSchema = z.object({
  key: z.string(),
  value: z.string(),
});
