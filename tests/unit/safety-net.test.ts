// The process-level safety net: a store failure that escaped its caller is logged and survived;
// anything else stops the server in order and exits 1. Real errors from a real socket.

import { createServer } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { safetyNetHandler, safetyNetVerdict } from '../../src/observability/safety-net.js';

function collectingLogger() {
  const lines: Array<{ level: string; msg: string }> = [];
  const logger = createLogger('info', {
    write(chunk: string) {
      lines.push(JSON.parse(chunk) as { level: string; msg: string });
      return true;
    },
  } as unknown as NodeJS.WritableStream);
  return { logger, lines };
}

describe('safety net', () => {
  it('survives a lost database connection and exits for anything else', async () => {
    // A server that accepts and hangs up: the client's error is the one a blip produces.
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres' });
    const lost = await client.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    await new Promise((r) => server.close(r));
    expect(lost).toBeInstanceOf(Error);
    expect(safetyNetVerdict(lost)).toBe('survive');
    expect(
      safetyNetVerdict(new TypeError("Cannot read properties of undefined (reading 'x')")),
    ).toBe('exit');
  });

  it('logs a store failure and keeps serving; stops in order and exits 1 on an unknown error', async () => {
    const { logger, lines } = collectingLogger();
    const exits: number[] = [];
    let stops = 0;
    const handle = safetyNetHandler({
      logger,
      stop: async () => {
        stops++;
      },
      stopTimeoutMs: 1000,
      exit: (code) => exits.push(code),
    });
    handle(
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      'uncaughtException',
    );
    expect(stops).toBe(0);
    expect(exits).toEqual([]);
    handle(new RangeError('a bug'), 'unhandledRejection');
    handle(new RangeError('another'), 'uncaughtException');
    await new Promise((r) => setTimeout(r, 20));
    expect(stops).toBe(1);
    expect(exits).toEqual([1]);
    expect(lines.map((l) => [l.level, l.msg.split(':')[0]])).toEqual([
      ['error', 'safety net'],
      ['fatal', 'safety net'],
      ['fatal', 'safety net'],
    ]);
  });
});
