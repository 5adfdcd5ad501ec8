import { describe, expect, it } from 'vitest';
import { redact, REDACTED } from '../../src/domain/redact.js';

describe('redact', () => {
  it.each([
    ['Authorization: Bearer tok-123456', ['tok-123456'], `Authorization: Bearer ${REDACTED}`],
    ['a tok-123456 and tok-123456 again', ['tok-123456'], `a ${REDACTED} and ${REDACTED} again`],
    // A secret holding another is replaced whole, whatever the order given.
    ['key=secret-key-long', ['secret', 'secret-key-long'], `key=${REDACTED}`],
    ['key=secret-key-long', ['secret-key-long', 'secret'], `key=${REDACTED}`],
    // Too short to look for: replacing every "abc" would mangle the text.
    ['abc abc', ['abc'], 'abc abc'],
    ['nothing here', ['tok-123456', undefined, ''], 'nothing here'],
  ])('%j without %j is %j', (text, secrets, expected) => {
    expect(redact(text, secrets)).toBe(expected);
  });

  it('returns the text itself when no secret occurs in it', () => {
    const text = 'x'.repeat(4096);
    expect(redact(text, ['tok-123456'])).toBe(text);
  });
});
