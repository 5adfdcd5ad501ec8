// The byte-level outline of a JSON document (depth, top-level elements) agrees with what the
// parsed document holds, however the bytes are split into chunks.

import { describe, expect, it } from 'vitest';
import { JsonOutline } from '../../src/domain/json-outline.js';

/** Depth and top-level element count from the parsed value: the reference. */
function reference(text: string): { deepest: number; items: number; rootArray: boolean } {
  const depth = (v: unknown): number =>
    typeof v === 'object' && v !== null
      ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depth))
      : 0;
  const value: unknown = JSON.parse(text);
  return {
    deepest: depth(value),
    items: Array.isArray(value) ? value.length : 0,
    rootArray: Array.isArray(value),
  };
}

function outline(chunks: Uint8Array[], maxDepth = Infinity, maxItems = Infinity): JsonOutline {
  const o = new JsonOutline(maxDepth, maxItems);
  for (const chunk of chunks) o.feed(chunk);
  return o;
}

const DOCUMENTS = [
  '{}',
  '[]',
  '  [ ]  ',
  '42',
  '"just a string with [ and { and ,"',
  'null',
  '[1,2,3]',
  '[ 1 , "two" , {"three": [3]} , [[4]] , null ]',
  '{"a":[1,{"b":[2,[3]]}],"c":"]]]}}},,,"}',
  '["\\"[", "\\\\", "\\\\\\"", "{\\"x\\":[1]}"]',
  '["é[ü", "日本語,{", "emoji 😀 ]", "\\u005b"]',
  '[[],{},[[]],{"a":{}}]',
  `${'['.repeat(40)}${']'.repeat(40)}`,
  `[${Array.from({ length: 50 }, (_, i) => `{"i":${i},"s":"a,b"}`).join(',')}]`,
  '[\n\t{"name": "PACKAGE_CREATE",\r\n "packageId": "p"}\n]',
];

describe('JsonOutline', () => {
  it.each(DOCUMENTS)('outlines %j as its parsed value, in one chunk or split anywhere', (text) => {
    const bytes = Buffer.from(text);
    const expected = reference(text);
    const whole = outline([bytes]);
    expect({ deepest: whole.deepest, items: whole.items, rootArray: whole.rootArray }).toEqual(
      expected,
    );
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = outline([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect([split.deepest, split.items]).toEqual([expected.deepest, expected.items]);
    }
    const byByte = outline([...bytes].map((b) => Uint8Array.of(b)));
    expect([byByte.deepest, byByte.items]).toEqual([expected.deepest, expected.items]);
  });

  it.each(DOCUMENTS)('measures the largest top-level element of %j (compacted)', (text) => {
    const value: unknown = JSON.parse(text);
    const compact = Buffer.from(JSON.stringify(value));
    const expected = Array.isArray(value)
      ? Math.max(0, ...value.map((v) => Buffer.byteLength(JSON.stringify(v))))
      : 0;
    expect(outline([compact]).largestItem).toBe(expected);
    for (let cut = 1; cut < compact.length; cut++) {
      const split = outline([compact.subarray(0, cut), compact.subarray(cut)]);
      expect(split.largestItem).toBe(expected);
    }
  });

  it('stops looking once past its depth or element bound', () => {
    const deep = outline([Buffer.from('['.repeat(1000))], 32);
    expect(deep.exceeded).toBe(true);
    expect(deep.deepest).toBe(33);
    const wide = outline([Buffer.from(`[${'1,'.repeat(5000)}1]`)], 32, 1000);
    expect(wide.exceeded).toBe(true);
    expect(wide.items).toBe(1001);
    // Whatever comes after is not read: a refused body costs nothing more to keep.
    wide.feed(Buffer.from('[[[[[[[[[['));
    expect([wide.deepest, wide.items]).toEqual([1, 1001]);
    // An element larger than the bound is noticed while it is still arriving.
    const large = new JsonOutline(32, 1000, 100);
    large.feed(Buffer.from(`[{"a":"${'x'.repeat(50)}"},{"b":[${'1,'.repeat(40)}`));
    expect(large.exceeded).toBe(false);
    large.feed(Buffer.from('1,'.repeat(20)));
    expect(large.exceeded).toBe(true);
  });

  it('counts nothing inside strings, whatever they hold', () => {
    const o = outline([Buffer.from(`["${'[{,'.repeat(1000)}\\"${'['.repeat(100)}"]`)], 32, 10);
    expect([o.deepest, o.items, o.exceeded]).toEqual([1, 1, false]);
  });
});
