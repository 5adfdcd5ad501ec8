// The outline of a JSON document read from its bytes as they arrive, before anything parses it:
// how deep it nests, how many elements its top-level array has and how large the largest is. JSON.parse builds every
// level of `[[[[...` as an object, so an 8 MiB bracket bomb costs hundreds of MiB before any
// check on the parsed value can refuse it; this pass costs one look at each byte and a few
// numbers of state, so a body refused here costs its size in time and nothing in memory.
//
// It does not validate: malformed JSON is left for the parser to refuse. Only the bytes that
// open and close containers, separate elements and delimit strings matter, and none of them can
// occur inside a multi-byte UTF-8 sequence, so chunks may split the text anywhere.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** Space, tab, line feed, carriage return: what may stand between JSON tokens. */
function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

export class JsonOutline {
  /** Containers open at once at the deepest point so far (the root container is 1). */
  deepest = 0;
  /** Elements of the top-level array so far; 0 when the root is not an array. */
  items = 0;
  /** Bytes of the largest top-level array element so far (one still arriving included). */
  largestItem = 0;
  /** Whether the document is an array (a batch); null until its first token. */
  rootArray: boolean | null = null;
  private depth = 0;
  /** Bytes fed so far. */
  private offset = 0;
  /** Where the top-level element being read began, or -1 between elements. */
  private itemStart = -1;
  private inString = false;
  private escaped = false;
  /** At the top level of the root array, after `[` or `,`: the next token starts an element. */
  private expectItem = false;

  /**
   * @param maxDepth deepest nesting of interest: once passed, the rest is not looked at.
   * @param maxItems most top-level elements of interest: once passed, the same.
   * @param maxItemBytes largest top-level element of interest: once passed, the same.
   */
  constructor(
    private readonly maxDepth: number,
    private readonly maxItems: number = Infinity,
    private readonly maxItemBytes: number = Infinity,
  ) {}

  /** Whether a limit was passed: what comes after no longer matters. */
  get exceeded(): boolean {
    return (
      this.deepest > this.maxDepth ||
      this.items > this.maxItems ||
      this.largestItem > this.maxItemBytes
    );
  }

  /** Bytes fed so far. */
  get bytes(): number {
    return this.offset;
  }

  /** A top-level element ends just before byte `at`. */
  private endItem(at: number): void {
    if (this.itemStart < 0) return;
    this.largestItem = Math.max(this.largestItem, at - this.itemStart);
    this.itemStart = -1;
  }

  feed(bytes: Uint8Array): void {
    if (this.exceeded) return;
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      const byte = bytes[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
        continue;
      }
      if (isSpace(byte)) continue;
      if (this.rootArray === null) {
        this.rootArray = byte === OPEN_ARRAY;
        this.expectItem = this.rootArray;
      } else if (this.expectItem && byte !== CLOSE_ARRAY) {
        this.expectItem = false;
        this.itemStart = this.offset + i;
        if (++this.items > this.maxItems) return;
      }
      switch (byte) {
        case QUOTE:
          this.inString = true;
          break;
        case OPEN_ARRAY:
        case OPEN_OBJECT:
          if (++this.depth > this.deepest) {
            this.deepest = this.depth;
            if (this.deepest > this.maxDepth) return;
          }
          break;
        case CLOSE_ARRAY:
        case CLOSE_OBJECT:
          if (--this.depth === 0) this.endItem(this.offset + i);
          this.expectItem = false;
          break;
        case COMMA:
          this.expectItem = this.rootArray && this.depth === 1;
          if (this.expectItem) this.endItem(this.offset + i);
          break;
      }
      if (this.largestItem > this.maxItemBytes) return;
    }
    this.offset += n;
    if (this.itemStart >= 0) {
      this.largestItem = Math.max(this.largestItem, this.offset - this.itemStart);
    }
  }
}
