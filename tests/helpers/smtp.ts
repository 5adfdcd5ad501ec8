// A real SMTP server on loopback (the `smtp-server` package) that keeps what it receives, with the
// text and HTML parts of each message decoded, and a self-signed certificate made with openssl
// for its STARTTLS and TLS paths.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  /** The whole message as sent, headers and encoded parts. */
  readonly raw: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Whether the session ran over TLS (smtps, or after STARTTLS). */
  readonly secure: boolean;
  /** The user name the client authenticated as, if it did. */
  readonly user: string | undefined;
}

export interface SmtpServerOptions {
  /** Certificate and key for STARTTLS (smtp) or TLS from the start (`implicitTls`). */
  readonly tls?: { readonly key: string; readonly cert: string };
  readonly implicitTls?: boolean;
  /** Require this user name and password (only over TLS, as real servers do). */
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Answer the first `n` messages with a temporary failure (451). */
  readonly refuseFirst?: number;
}

export interface TestSmtpServer {
  readonly port: number;
  readonly received: ReceivedMail[];
  /** Messages refused so far (refuseFirst). */
  readonly refused: () => number;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  let refused = 0;
  let waiters: Array<{ count: number; resolve: () => void }> = [];
  const config: SMTPServerOptions = {
    logger: false,
    secure: options.implicitTls === true,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    disabledCommands: [...(options.tls ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
    authOptional: !options.auth,
    onAuth(auth, _session, callback) {
      if (auth.username === options.auth?.user && auth.password === options.auth?.pass) {
        callback(null, { user: auth.username });
      } else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refused < (options.refuseFirst ?? 0)) {
          refused++;
          const error = Object.assign(new Error('Try again later'), { responseCode: 451 });
          callback(error);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          ...decode(raw),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        waiters = waiters.filter((w) => (received.length >= w.count ? (w.resolve(), false) : true));
        callback();
      });
    },
  };
  const server = new SMTPServer(config);
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    refused: () => refused,
    waitFor(count, timeoutMs = 15_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`SMTP server got ${received.length} of ${count} messages`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A self-signed certificate for localhost and 127.0.0.1, made by openssl for this test run. */
export function selfSignedCertificate(): {
  key: string;
  cert: string;
  certFile: string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cert-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return {
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    certFile,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The subject and the decoded text and HTML parts of a MIME message (as Nodemailer writes it). */
function decode(raw: string): { subject: string; text: string; html: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const headers = unfold(head);
  const subject = decodeWords(headers.subject ?? '');
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(headers['content-type'] ?? '')?.[1];
  const parts = boundary ? rest.join('\r\n\r\n').split(`--${boundary}`) : [];
  let text = '';
  let html = '';
  for (const part of parts) {
    const [partHead = '', ...body] = part.replace(/^\r?\n/, '').split(/\r?\n\r?\n/);
    const h = unfold(partHead);
    const content = decodeBody(body.join('\r\n\r\n'), h['content-transfer-encoding'] ?? '');
    if (/^text\/plain/i.test(h['content-type'] ?? '')) text = content;
    if (/^text\/html/i.test(h['content-type'] ?? '')) html = content;
  }
  return { subject, text, html };
}

function unfold(head: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}

function decodeBody(body: string, encoding: string): string {
  const trimmed = body.replace(/\r?\n$/, '');
  if (/quoted-printable/i.test(encoding)) {
    const bytes = trimmed
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8').replace(/\r\n/g, '\n');
  }
  if (/base64/i.test(encoding)) {
    return Buffer.from(trimmed.replace(/\s+/g, ''), 'base64')
      .toString('utf8')
      .replace(/\r\n/g, '\n');
  }
  return trimmed.replace(/\r\n/g, '\n');
}

/** RFC 2047 encoded words (=?UTF-8?Q?...?= and =?UTF-8?B?...?=) in a header. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : Buffer.from(
            data
              .replace(/_/g, ' ')
              .replace(/=([0-9A-F]{2})/gi, (_x, hex: string) =>
                String.fromCharCode(parseInt(hex, 16)),
              ),
            'latin1',
          ).toString('utf8'),
    );
}
