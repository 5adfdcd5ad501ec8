// Herald's own credentials never go into what it stores from others: a listener that echoes its
// request headers would otherwise put the bearer token or Basic key Herald sent into the attempt
// log, and a token endpoint that repeats the client secret in its refusal would put it into the
// stored reason. Every occurrence of a credential becomes `[redacted]` before the text is kept.

export const REDACTED = '[redacted]';

/**
 * Shorter values are not looked for: replacing every "abc" would mangle the text and hide
 * nothing worth hiding.
 */
export const MIN_REDACTED_LENGTH = 6;

/**
 * `text` with every occurrence of each secret replaced; the same string when none occurs (the
 * common case costs one `includes` per secret).
 */
export function redact(text: string, secrets: Iterable<string | undefined>): string {
  let found: string[] | undefined;
  for (const secret of secrets) {
    if (secret && secret.length >= MIN_REDACTED_LENGTH && text.includes(secret)) {
      (found ??= []).push(secret);
    }
  }
  if (!found) return text;
  // Longest first: a secret that holds another is replaced whole.
  let out = text;
  for (const secret of found.sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(secret, REDACTED);
  }
  return out;
}
