// Structured JSON logs (pino). Secrets never reach a log line: callers log ids, not objects that
// hold credentials, and the redaction list below is a second line of defence.

import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'key',
  '*.key',
  'apiKey',
  'clientSecret',
  '*.clientSecret',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  'access_token',
  'accessToken',
  'secret',
  '*.secret',
  'password',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'herald' },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
