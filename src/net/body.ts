// Reading a listener's response body: keep the start for the attempt log, and only read the rest
// when that is cheap enough to keep the connection in the pool.

import type { Readable } from 'node:stream';

export interface CappedBody {
  readonly text: string;
  /** The body was longer than what was kept. */
  readonly truncated: boolean;
}

const EMPTY: CappedBody = { text: '', truncated: false };

/**
 * Keeps the first `keepBytes` of `body` and reads (discarding) at most `drainBytes` more, so the
 * socket can serve the next request. A longer body is destroyed instead, which closes that
 * connection: cheaper than downloading megabytes nobody reads. `contentLength` (when the
 * response declared one) lets an oversized body be given up on as soon as the kept part is in.
 */
export function readCapped(
  body: Readable,
  keepBytes: number,
  drainBytes: number,
  contentLength: number | undefined,
): Promise<CappedBody> {
  if (contentLength === 0) {
    // Nothing will arrive; resuming lets the stream end and free the connection.
    body.resume();
    return Promise.resolve(EMPTY);
  }
  const giveUpEarly = contentLength !== undefined && contentLength > keepBytes + drainBytes;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let discarded = 0;
    let settled = false;

    const finish = (): void => {
      if (settled) return;
      settled = true;
      const truncated = discarded > 0 || (contentLength !== undefined && contentLength > kept);
      const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, kept);
      resolve({ text: utf8Prefix(buffer, truncated), truncated });
    };

    body.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (kept < keepBytes) {
        const room = keepBytes - kept;
        if (chunk.length <= room) {
          chunks.push(chunk);
          kept += chunk.length;
        } else {
          chunks.push(chunk.subarray(0, room));
          kept = keepBytes;
          discarded += chunk.length - room;
        }
      } else {
        discarded += chunk.length;
      }
      if (kept === keepBytes && (giveUpEarly || discarded > drainBytes)) {
        finish();
        body.destroy(); // undici closes the socket rather than returning it to the pool
      }
    });
    body.on('end', finish);
    body.on('error', (err) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
  });
}

/**
 * Decodes `buffer` as UTF-8. When the body was cut, a multi-byte character split at the cut is
 * dropped rather than shown as U+FFFD.
 */
function utf8Prefix(buffer: Buffer, truncated: boolean): string {
  let end = buffer.length;
  if (truncated && end > 0) {
    let lead = end - 1;
    while (lead > 0 && end - lead < 4 && (buffer[lead]! & 0xc0) === 0x80) lead--;
    const byte = buffer[lead]!;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    if (lead + length > end) end = lead;
  }
  return buffer.toString('utf8', 0, end);
}
