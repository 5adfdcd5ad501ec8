// What several parts of the store port share.

export interface Page<T> {
  readonly data: readonly T[];
  /** Cursor for the next page, or null at the end. */
  readonly next: string | null;
}
