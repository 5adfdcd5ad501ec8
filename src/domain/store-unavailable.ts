// Which store errors mean "the store cannot serve right now" rather than "Herald has a bug":
// PostgreSQL unreachable, restarting, out of connections or overloaded; SQLite locked, read-only,
// out of disk or failing at the I/O level. The API answers those with 503 store_unavailable
// (nothing was accepted; retry), and everything else stays a logged 500.

/** The code of errors from calls the embedded store's thread could not answer (it stopped). */
export const STORE_THREAD_EXITED = 'HERALD_STORE_THREAD_EXITED';

/** Node's socket errors when the database server cannot be reached or drops the connection. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 53 (insufficient resources),
 * 57P01–57P03 (shutting down, cannot connect now), 40001/40P01 (serialization, deadlock).
 */
function isPostgresTransient(code: string): boolean {
  return (
    code.startsWith('08') ||
    code.startsWith('53') ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code === '40001' ||
    code === '40P01'
  );
}

/** SQLite result codes (extended ones start with the primary code) that are not bugs. */
const SQLITE_PREFIXES = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_NOMEM',
];

/**
 * The pool's and client's own messages when it cannot get a connection in time, loses one
 * mid-query, or is asked to query on a connection it lost.
 */
const POOL_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'connection timeout',
  'is not queryable',
];

export function isStoreUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code)) return true;
      if (/^[0-9A-Z]{5}$/.test(code) && isPostgresTransient(code)) return true;
      if (SQLITE_PREFIXES.some((prefix) => code.startsWith(prefix))) return true;
      if (code === STORE_THREAD_EXITED) return true;
    }
    if (POOL_MESSAGES.some((m) => e instanceof Error && e.message.includes(m))) return true;
    e = e.cause;
  }
  return false;
}
