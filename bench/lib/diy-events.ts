// What the DIY relay's ingest accepts: the bodies Herald's POST /v1/events accepts (one event
// object, or an array of 1 to 1,000), each validated and serialised by Herald's own
// normaliseEvent, so the relay does the same work per event and delivers the same bytes.

import { MAX_BATCH, normaliseEvent } from '../../src/domain/events.js';

export type ParsedPublish =
  { readonly bodies: readonly string[]; readonly single: boolean } | { readonly error: string };

/** The wire bodies of a publish request's events, or why the request is refused (a 400). */
export function parsePublish(text: string, now: number): ParsedPublish {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return { error: 'the body is not JSON' };
  }
  const single = !Array.isArray(input);
  const items: unknown[] = single ? [input] : (input as unknown[]);
  if (items.length === 0 || items.length > MAX_BATCH) {
    return { error: `a batch holds 1 to ${MAX_BATCH} events` };
  }
  try {
    return {
      bodies: items.map((item, i) => normaliseEvent(item, now, single ? undefined : i).payload),
      single,
    };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
