// Limits on the shape of JSON that Herald accepts and stores, whatever the field: how deep it
// nests (deeper documents would exhaust the stack of whoever walks them later, Herald included)
// no NUL characters (PostgreSQL text cannot hold them, and few listeners expect them), and no
// lone surrogates (not Unicode; UTF-8 has no form for them).
// Text that arrives from remote parties is made storable instead of refused.

export const MAX_JSON_DEPTH = 32;

/** Text from a remote party (a listener, a token endpoint), with NULs made storable. */
export function storableText(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\ufffd') : text;
}

/**
 * The first problem with `value`'s shape, as a slash-separated path below `path` (the style of every field problem) and a
 * message; undefined when it is fine. Walks without recursion, so any depth is safe to check.
 */
export function jsonShapeProblem(
  value: unknown,
  path = '',
): { path: string; message: string } | undefined {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === 'string') {
      if (v.includes('\0')) {
        return { path: item.path || '/', message: 'must not contain NUL characters (U+0000)' };
      }
      if (!wellFormed(v)) return { path: item.path || '/', message: NOT_UNICODE };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (item.depth >= MAX_JSON_DEPTH) {
      return {
        path: item.path || '/',
        message: `nests more than ${MAX_JSON_DEPTH} levels of objects and arrays`,
      };
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        stack.push({ value: v[i], path: below(item.path, String(i)), depth: item.depth + 1 });
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      const at = below(item.path, key);
      if (key.includes('\0'))
        return { path: at, message: 'has a NUL character (U+0000) in its name' };
      if (!wellFormed(key)) return { path: at, message: `has a name that ${NOT_UNICODE}` };
      stack.push({ value: (v as Record<string, unknown>)[key], path: at, depth: item.depth + 1 });
    }
  }
  return undefined;
}

/**
 * A lone surrogate (\ud800-\udfff without its pair) is not a character: UTF-8 cannot encode it,
 * so the stored text and what listeners receive would differ.
 */
const NOT_UNICODE = 'must be valid Unicode text (it holds a lone surrogate, \\ud800-\\udfff)';

function wellFormed(text: string): boolean {
  // String.prototype.isWellFormed: Node 20 has it; the ES2023 library types do not.
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

function below(path: string, key: string): string {
  return path === '' ? key : `${path}/${key}`;
}
