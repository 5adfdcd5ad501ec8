// `herald demo`: the whole story on one machine, offline. A Salesforce-like org and Herald on a
// temporary store; the refresh token obtained through the real Web Server flow; a realistic
// stream of e-signature events; a forced token expiry and rotations mid-stream; live progress;
// a summary.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { startHerald, type RunningHerald } from '../../main.js';
import { silentLogger } from '../../observability/logger.js';
import {
  beginAuthorization,
  completeAuthorization,
  DEFAULT_SCOPE,
  type WebFlowOptions,
} from '../../oauth/web-flow.js';
import type { Sandbox } from '../../sandbox/index.js';
import { parse, UsageError, type Command, type Io } from '../command.js';
import { interleave, transactions } from '../demo/story.js';
import { listenForRedirect, openBrowser } from '../redirect-listener.js';

interface Counters {
  readonly delivered: number;
  readonly expected: number;
  readonly retries: number;
  readonly tokenRequests: number;
  readonly pending: number;
  readonly held: number;
  readonly failed: number;
}

/** A second listener, an "operations" hook with a Basic key, that fails its first answers. */
async function startOpsListener(
  failFirst: number,
): Promise<{ url: string; received: Set<string>; server: Server }> {
  const received = new Set<string>();
  let seen = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen++;
      if (seen <= failFirst) {
        res.writeHead(500).end('warming up');
        return;
      }
      received.add(String(req.headers['webhook-id']));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`,
    received,
    server,
  };
}

async function counters(
  herald: RunningHerald,
  sandbox: Sandbox,
  ops: Set<string>,
  expected: number,
): Promise<Counters> {
  const q = await herald.store.queueStats(Date.now());
  const total = await herald.services.metrics.attemptTotal();
  const delivered = new Set(sandbox.received.map((r) => r.headers['webhook-id'])).size + ops.size;
  return {
    delivered,
    expected,
    retries: Math.max(0, total - delivered),
    tokenRequests: sandbox.stats.tokenRequests,
    pending: q.pending + q.delivering,
    held: q.held,
    failed: q.failed,
  };
}

function progressLine(c: Counters): string {
  const width = 24;
  const filled = Math.round((c.delivered / Math.max(1, c.expected)) * width);
  return `  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] delivered ${c.delivered}/${c.expected} · in queue ${c.pending} · retries ${c.retries} · token requests ${c.tokenRequests}`;
}

export const demo: Command = {
  name: 'demo',
  summary: 'Run Herald end to end against a local Salesforce-like org, offline, with live progress',
  help: `Usage: herald demo [--transactions N] [--interactive]

Starts a Salesforce-like org and Herald on a temporary embedded store, gets a refresh token
through the real OAuth Web Server flow (PKCE), registers the org's Apex-like listener with
OneSpan's salesforceOauth2 connector, publishes a stream of e-signature events, forces an
access-token expiry mid-stream (with refresh token rotation on), and prints a summary.
Nothing leaves this machine; everything is removed at the end.

Options:
  --transactions N   how many transactions to publish (default 12)
  --interactive      log in to the org yourself in a browser instead of letting the demo do it
  --keep             keep running at the end (Ctrl-C to stop) so you can explore the API`,
  async run(args, io) {
    const { values } = parse(args, {
      transactions: { type: 'string' },
      interactive: { type: 'boolean' },
      keep: { type: 'boolean' },
    });
    const count = Number(values.transactions ?? '12');
    if (!Number.isInteger(count) || count < 1 || count > 1000)
      throw new UsageError('--transactions must be from 1 to 1000');
    const started = Date.now();
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-demo-'));
    const say = (line = '') => io.out(line);
    let sandbox: Sandbox | undefined;
    let herald: RunningHerald | undefined;
    let ops: Awaited<ReturnType<typeof startOpsListener>> | undefined;
    try {
      say('Herald demo: everything runs on this machine; nothing leaves it.');
      say();
      // Loaded on demand: `herald serve` never needs the sandbox in memory.
      const { startSandbox } = await import('../../sandbox/index.js');
      const { driveSandboxLogin } = await import('../../sandbox/login-driver.js');
      sandbox = await startSandbox({ rotation: true, concurrentRefresh: 'revoke' });
      say(`1. Started a Salesforce-like org at ${sandbox.url} (refresh token rotation on)`);
      const apiKey = `demo_${randomBytes(16).toString('hex')}`;
      herald = await startHerald(
        loadConfig({
          HERALD_PORT: '0',
          HERALD_DATA_DIR: dataDir,
          HERALD_API_KEY: apiKey,
          HERALD_ALLOW_PRIVATE_NETWORK: '1',
          HERALD_RETRY_SCHEDULE: '300ms,600ms,1s,2s,5s',
          HERALD_POLL_INTERVAL: '200ms',
          HERALD_SQLITE_SYNCHRONOUS: 'normal',
        }),
        { logger: silentLogger(), print: () => {} },
      );
      say(`2. Started Herald at ${herald.url} on a temporary embedded store`);

      say('3. Connecting Herald to the org: OAuth 2.0 Web Server flow with PKCE');
      const redirect = await listenForRedirect(0);
      const flow: WebFlowOptions = {
        loginUrl: sandbox.url,
        clientId: sandbox.connectedApp.clientId,
        scope: DEFAULT_SCOPE,
        redirectUri: `http://localhost:${redirect.port}/OauthRedirect`,
      };
      sandbox.addCallbackUrl(flow.redirectUri);
      const pending = await beginAuthorization(flow);
      const user = sandbox.users[0]!;
      let refreshToken: string;
      try {
        if (values.interactive) {
          say(
            `   Open this URL and log in as ${user.username} / ${user.password}, then choose Allow:`,
          );
          say(`   ${pending.url}`);
          openBrowser(pending.url);
        } else {
          say(
            `   logging in as ${user.username} and allowing access (use --interactive to do it yourself)`,
          );
          const location = await driveSandboxLogin(pending.url, { ...user, decision: 'allow' });
          await fetch(location);
        }
        const back = await redirect.next(values.interactive ? 5 * 60_000 : 10_000);
        refreshToken = (await completeAuthorization(flow, pending, back)).refreshToken;
      } finally {
        await redirect.close();
      }
      say('   got a refresh token (state checked, code exchanged with its PKCE verifier)');

      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${herald!.url}${path}`, {
          method,
          headers: { authorization: `Basic ${apiKey}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
        return text === '' ? null : (JSON.parse(text) as Record<string, unknown>);
      };
      const key = Buffer.from(
        JSON.stringify({
          host: sandbox.url,
          client_id: sandbox.connectedApp.clientId,
          refresh_token: refreshToken,
        }),
      ).toString('base64');
      await api('POST', '/api/callback/connectors/salesforceOauth2', {
        url: `${sandbox.url}/services/apexrest/herald/events`,
        key,
        events: [
          'PACKAGE_CREATE',
          'PACKAGE_ACTIVATE',
          'DOCUMENT_SIGNED',
          'SIGNER_COMPLETE',
          'PACKAGE_COMPLETE',
          'PACKAGE_DECLINE',
          'EMAIL_BOUNCE',
        ],
      });
      const endpoints = (await api('GET', '/v1/endpoints')) as { data: Array<{ id: string }> };
      await api('PATCH', `/v1/endpoints/${endpoints.data[0]!.id}`, {
        options: { ordering: 'package' },
      });
      ops = await startOpsListener(3);
      await api('POST', '/v1/endpoints', {
        url: ops.url,
        events: ['PACKAGE_COMPLETE', 'PACKAGE_DECLINE', 'EMAIL_BOUNCE'],
        auth: { type: 'BASIC', key: 'ops-callback-key' },
      });
      say(
        '4. Registered the Apex listener with the salesforceOauth2 connector (ordered by package),',
      );
      say('   and an operations listener with a Basic key that fails its first answers');

      const events = interleave(transactions(count));
      const toSalesforce = events.filter((e) => e.name !== 'DOCUMENT_VIEWED').length;
      const toOps = events.filter((e) =>
        ['PACKAGE_COMPLETE', 'PACKAGE_DECLINE', 'EMAIL_BOUNCE'].includes(e.name),
      ).length;
      const expected = toSalesforce + toOps;
      say(`5. Publishing ${count} transactions: ${events.length} events, ${expected} deliveries`);

      const tty = Boolean(process.stdout.isTTY);
      let last = '';
      const show = (line: string, final = false) => {
        if (tty) process.stdout.write(`\r${line.padEnd(last.length)}${final ? '\n' : ''}`);
        else if (final || line !== last) say(line);
        last = line;
      };
      const forcedAt = [Math.floor(events.length / 3), Math.floor((2 * events.length) / 3)];
      for (let i = 0; i < events.length; i += 10) {
        await api('POST', '/v1/events', events.slice(i, i + 10));
        if (forcedAt.some((at) => at >= i && at < i + 10)) {
          await new Promise((r) => setTimeout(r, 150));
          sandbox.expireAccessTokens();
          show(progressLine(await counters(herald, sandbox, ops.received, expected)), true);
          say(
            '  -> the org expired every access token: the next delivery gets 401 INVALID_SESSION_ID',
          );
        }
        show(progressLine(await counters(herald, sandbox, ops.received, expected)));
        await new Promise((r) => setTimeout(r, 100));
      }
      const deadline = Date.now() + 60_000;
      let c = await counters(herald, sandbox, ops.received, expected);
      while (c.delivered < expected && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        c = await counters(herald, sandbox, ops.received, expected);
        show(progressLine(c));
      }
      show(progressLine(c), true);
      summary(io, c, sandbox, refreshToken, (Date.now() - started) / 1000);
      if (values.keep) {
        say();
        say(
          `Herald keeps running at ${herald.url} (API key ${apiKey}); the org at ${sandbox.url}. Ctrl-C to stop.`,
        );
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      }
      return c.delivered >= expected && c.failed === 0 ? 0 : 1;
    } finally {
      await herald?.stop();
      await sandbox?.close();
      ops?.server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

function summary(
  io: Io,
  c: Counters,
  sandbox: Sandbox,
  firstRefreshToken: string,
  seconds: number,
): void {
  const s = sandbox.stats;
  const rows: Array<[string, string]> = [
    ['deliveries', `${c.delivered} of ${c.expected} delivered, ${c.failed} failed, ${c.held} held`],
    ['retries', `${c.retries} (the operations listener failed its first answers)`],
    [
      'token requests',
      `${s.tokenRequests}: the first token, then one per expiry (${s.listenerRejected401} deliveries got a 401 and were resent at once)`,
    ],
    ['most at once', `${s.maxConcurrentTokenRequests} token request(s) in flight at the same time`],
    [
      'rotation',
      `every refresh replaced the refresh token; rotated-out tokens presented: ${s.rotatedOutTokenPresented}`,
    ],
    ['grant', s.isGrantAlive(firstRefreshToken) ? 'still alive' : 'REVOKED'],
    ['time', `${seconds.toFixed(1)} s`],
  ];
  io.out('');
  io.out('Summary');
  for (const [k, v] of rows) io.out(`  ${k.padEnd(15)} ${v}`);
}
