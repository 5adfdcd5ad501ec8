// A Basic callback key (OneSpan's): sent raw as `Authorization: Basic <key>`, so it must fit in a
// header; it goes only to the callback URL's origin.

import { z } from 'zod';
import { BASIC_AUTH } from '../../domain/auth-types.js';
import { HEADER_VALUE } from '../../domain/endpoint.js';
import { invalid, secretInput } from './draft.js';
import { masked, type AuthModule } from './module.js';

/** A Basic callback key: Herald sends it in the Authorization header, so it must fit there. */
export const BASIC_KEY_RULES = {
  maxLength: 1024,
  tooLong: 'must be at most 1,024 characters',
  pattern: HEADER_VALUE,
  badCharacters:
    'must be printable ASCII or Latin-1, without line breaks or control characters (it is sent in the Authorization header)',
} as const;

export const CallbackKey = z
  .string()
  .max(BASIC_KEY_RULES.maxLength, BASIC_KEY_RULES.tooLong)
  .regex(BASIC_KEY_RULES.pattern, BASIC_KEY_RULES.badCharacters);

const schema = z.object({
  type: z.literal('BASIC'),
  key: CallbackKey.min(1, 'key must not be empty'),
});

export const basic: AuthModule<typeof schema> = {
  declaration: BASIC_AUTH,
  schema,
  acceptsBody: () => true,
  fromBody: (body) => ({ type: 'BASIC', key: secretInput(body.key) }),
  acceptsCallback: () => true,
  fromCallback(_origin, body) {
    // OneSpan's body is checked loosely by its schema (the key may be a salesforceOauth2 key).
    const key = body.key ?? '';
    if (key === '') throw invalid('key', 'is required when authType is BASIC');
    if (key.length > BASIC_KEY_RULES.maxLength) throw invalid('key', BASIC_KEY_RULES.tooLong);
    if (!BASIC_KEY_RULES.pattern.test(key)) throw invalid('key', BASIC_KEY_RULES.badCharacters);
    return { type: 'BASIC', key: secretInput(key) };
  },
  inputs: (auth) => (auth.type === 'BASIC' ? { key: auth.key } : {}),
  present: (e) => ({ key: masked(e.secrets.basicKey) }),
  presentCallback: (e) => ({ key: masked(e.secrets.basicKey) }),
  replaceRefusal: (input) => (input.key ? undefined : 'Send the new callback key as `key`'),
};
