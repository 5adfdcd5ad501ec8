// `herald listen`: a callback listener on this machine, to watch what Herald sends. It checks
// what a real listener would (the callback key, the Standard Webhooks signature) with the
// receiver library, prints each callback, and answers as told.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  checkCallbackCredentials,
  parseCallbackEvent,
  type CallbackEvent,
} from '../../../packages/client/src/receiver.js';
import { parse, UsageError, type Command, type Io } from '../command.js';

/** Herald's own limit for one event is 256 KiB; anything much larger is not a callback. */
const MAX_BODY_BYTES = 1024 * 1024;

interface ListenOptions {
  readonly callbackKey: string | undefined;
  readonly signingSecrets: readonly string[];
  /** The status every accepted callback gets (200 unless told otherwise). */
  readonly status: number;
  readonly json: boolean;
}

interface Received {
  readonly status: number;
  readonly event?: CallbackEvent;
  readonly problem?: string;
}

export const listen: Command = {
  name: 'listen',
  summary: 'Run a callback listener here that checks and prints what Herald delivers',
  help: `Usage: herald listen [--port 9000] [--key KEY] [--signing-secret whsec_...] [options]

Listens for callbacks on every path, prints each one (time, event, package, webhook-id, body) and
answers 200. With --key it requires \`Authorization: Basic <key>\`, with --signing-secret a valid
Standard Webhooks signature, and answers 401 to a callback without them, as a real listener
would. Herald refuses loopback addresses unless it runs with --allow-private-network.

Options:
  --port P                 port (default 9000; 0 picks a free one)
  --host H                 address to listen on (default 127.0.0.1)
  --key KEY                the callback key Herald must send
  --signing-secret S       a signing secret (whsec_...) the signature must match; repeatable
  --status N               answer accepted callbacks with this status instead of 200, e.g. 503
                           to watch Herald retry, 410 to watch it disable the endpoint
  --json                   print one JSON object per callback

Ctrl-C stops it.`,
  async run(args, io) {
    const { values } = parse(args, {
      port: { type: 'string' },
      host: { type: 'string' },
      key: { type: 'string' },
      'signing-secret': { type: 'string', multiple: true },
      status: { type: 'string' },
      json: { type: 'boolean' },
    });
    const port = Number(values.port ?? '9000');
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be a TCP port');
    const status = Number(values.status ?? '200');
    if (!Number.isInteger(status) || status < 200 || status > 599)
      throw new UsageError('--status must be an HTTP status from 200 to 599');
    for (const secret of values['signing-secret'] ?? []) {
      if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret))
        throw new UsageError(
          '--signing-secret must be a whsec_... secret, as Herald shows it when it creates or rotates one',
        );
    }
    const options: ListenOptions = {
      callbackKey: values.key,
      signingSecrets: values['signing-secret'] ?? [],
      status,
      json: values.json ?? false,
    };

    const server = createServer((req, res) => {
      void handle(req, res, options, io);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, values.host ?? '127.0.0.1', () => resolve());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const checks = [
      options.callbackKey !== undefined ? 'the callback key' : '',
      options.signingSecrets.length > 0 ? 'the signature' : '',
    ].filter(Boolean);
    io.out(`Listening for callbacks on http://${host}:${address.port} (any path)`);
    io.out(
      checks.length > 0
        ? `Checking ${checks.join(' and ')}; answering ${status} to callbacks that pass.`
        : `Checking nothing (give --key or --signing-secret to); answering ${status}.`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return 0;
  },
};

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ListenOptions,
  io: Io,
): Promise<void> {
  const receivedAt = new Date();
  let received: Received;
  let body = '';
  if (req.method !== 'POST') {
    received = { status: 405, problem: `Callbacks are POSTed; this was a ${req.method}` };
  } else {
    const read = await readBody(req);
    body = read ?? '';
    received =
      read === undefined
        ? { status: 413, problem: `The body is larger than ${MAX_BODY_BYTES / 1024} KiB` }
        : await check(req, read, options);
  }
  if (received.problem !== undefined) {
    res.writeHead(received.status, { 'content-type': 'application/problem+json' });
    res.end(
      JSON.stringify({
        title: 'Callback refused',
        status: received.status,
        detail: received.problem,
      }),
    );
  } else {
    res.writeHead(received.status).end();
  }
  io.out(report(req, receivedAt, received, body, options.json));
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', () => resolve(undefined));
  });
}

async function check(
  req: IncomingMessage,
  body: string,
  options: ListenOptions,
): Promise<Received> {
  // Credentials first, as a listener should: a caller without them learns nothing of the body.
  if (options.callbackKey !== undefined || options.signingSecrets.length > 0) {
    const problem = await problemOf(() =>
      checkCallbackCredentials(
        { headers: req.headers, body },
        { callbackKey: options.callbackKey, signingSecrets: options.signingSecrets },
      ),
    );
    if (problem !== undefined) return { status: 401, problem };
  }
  let event: CallbackEvent | undefined;
  const problem = await problemOf(() => {
    event = parseCallbackEvent(body);
  });
  return problem !== undefined ? { status: 400, problem } : { status: options.status, event };
}

/** The message of what `work` throws (or rejects with), or undefined when it does not. */
async function problemOf(work: () => unknown): Promise<string | undefined> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function report(
  req: IncomingMessage,
  at: Date,
  received: Received,
  body: string,
  json: boolean,
): string {
  const webhookId = req.headers['webhook-id'];
  if (json) {
    return JSON.stringify({
      receivedAt: at.toISOString(),
      method: req.method,
      path: req.url,
      status: received.status,
      webhookId: typeof webhookId === 'string' ? webhookId : null,
      ...(received.problem !== undefined ? { problem: received.problem } : {}),
      ...(received.event !== undefined ? { event: received.event } : { body }),
    });
  }
  const time = at.toISOString().slice(11, 23);
  const what = received.event
    ? `${received.event.name}  package ${received.event.packageId}`
    : `${req.method} ${req.url}`;
  const id = typeof webhookId === 'string' ? `  webhook-id ${webhookId}` : '';
  const answer =
    received.problem !== undefined
      ? `→ ${received.status} ${received.problem}`
      : `→ ${received.status}`;
  return `${time}  ${what}${id}  ${answer}${body ? `\n  ${body}` : ''}`;
}
