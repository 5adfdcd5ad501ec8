// Herald's sandbox: a Salesforce-like org (authorization server + Apex-REST-like listener) for
// demos, development and Herald's own tests. `startSandbox` listens on a socket; `createSandbox`
// gives the same org without one, for `app.request()` tests.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createSandboxApp } from './app.js';
import {
  addCallbackUrl,
  enableClientCredentials,
  issueRefreshToken,
  revokeGrantOf,
} from './controls.js';
import { answersDirectly, serveApexRest } from './listener.js';
import { SandboxState } from './state.js';
import type { InProcessSandbox, Sandbox, SandboxOptions } from './types.js';

export type {
  ConnectedAppInfo,
  InProcessSandbox,
  ReceivedCallback,
  Sandbox,
  SandboxOptions,
  SandboxStats,
  SandboxUserInfo,
} from './types.js';

function buildSandbox(state: SandboxState): InProcessSandbox {
  const app = createSandboxApp(state);
  return {
    get url() {
      return state.baseUrl;
    },
    connectedApp: {
      clientId: state.app.clientId,
      clientSecret: state.app.clientSecret,
      // The live list: addCallbackUrl shows up here.
      callbackUrls: state.app.callbackUrls,
    },
    users: state.users.map((u) => ({ username: u.username, password: u.password })),
    app,
    issueRefreshToken: (opts) => issueRefreshToken(state, opts),
    expireAccessTokens: () => state.expireAccessTokens(),
    holdTokenAnswers: () => state.holdTokenAnswers(),
    revokeGrant: (refreshToken) => revokeGrantOf(state, refreshToken),
    revokeAllGrants: () => state.revokeAllGrants(),
    setRotation: (on) => {
      state.tunables.rotation = on;
    },
    addCallbackUrl: (url) => addCallbackUrl(state, url),
    enableClientCredentials: (opts) => enableClientCredentials(state, opts),
    disableClientCredentials: () => {
      state.tunables.clientCredentialsUser = undefined;
    },
    stats: state.counters,
    received: state.received,
  };
}

/** The org without a socket; `baseUrl` becomes `url`, `instance_url` and the `id` host. */
export function createSandbox(
  options: SandboxOptions & { baseUrl?: string } = {},
): InProcessSandbox {
  return buildSandbox(new SandboxState(options, options.baseUrl ?? 'http://localhost'));
}

// Salesforce accepts http://localhost callbacks but rejects 127.0.0.1, and clients are told to
// use localhost; so a loopback or wildcard bind is advertised as localhost.
function advertisedHost(host: string): string {
  if (['localhost', '127.0.0.1', '::1', '0.0.0.0', '::', ''].includes(host)) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** Start the org on a port (0 = any free one) of `host` (default `localhost`). */
export async function startSandbox(
  options: SandboxOptions & { port?: number; host?: string } = {},
): Promise<Sandbox> {
  const host = options.host ?? 'localhost';
  const state = new SandboxState(options, 'http://localhost');
  const sandbox = buildSandbox(state);
  const app = getRequestListener(sandbox.app.fetch);
  // Callbacks skip the web-standard adapter: see listener.ts.
  const server = createServer((req, res) => {
    if (answersDirectly(req)) void serveApexRest(state, req, res);
    else void app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  state.baseUrl = `http://${advertisedHost(host)}:${port}`;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive sockets would hold close() open until they time out.
      server.closeAllConnections();
    });
    return closed;
  };
  return Object.assign(sandbox, { close });
}
