// A minimal OAuth 2.0 token endpoint with refresh-token rotation, and the bearer check of a
// listener that trusts it, on loopback. It counts every token request and every refresh token
// presented after it was rotated out (what a duplicate refresh looks like to the server), and
// lets a test act while a token request is in flight, before it is answered.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackTokenServer {
  readonly tokenUrl: string;
  /** The refresh token to register the endpoint with. */
  readonly firstRefreshToken: string;
  readonly requests: number;
  /** Refresh tokens presented after they were rotated out. */
  readonly staleRefreshTokens: number;
  /** Whether `Authorization: Bearer <token>` carries the current access token. */
  accepts(authorization: string | undefined): boolean;
  /** Stops accepting the current access token (a listener then answers 401). */
  expireAccessToken(): void;
  /** Runs before the next token request is answered (the refresh is under way meanwhile). */
  beforeNextAnswer(hook: () => Promise<void>): void;
  close(): Promise<void>;
}

export async function startLoopbackTokenServer(): Promise<LoopbackTokenServer> {
  let generation = 0;
  let refreshToken = 'rt-0';
  const retired = new Set<string>();
  let accessToken: string | null = null;
  let requests = 0;
  let stale = 0;
  let hook: (() => Promise<void>) | null = null;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        requests++;
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const presented = form.get('refresh_token') ?? '';
        const answer = (status: number, body: unknown): void => {
          res.writeHead(status, {
            'content-type': 'application/json',
            'cache-control': 'no-store',
          });
          res.end(JSON.stringify(body));
        };
        if (presented !== refreshToken) {
          if (retired.has(presented)) stale++;
          answer(400, {
            error: 'invalid_grant',
            error_description: 'expired access/refresh token',
          });
          return;
        }
        generation++;
        retired.add(refreshToken);
        refreshToken = `rt-${generation}`;
        accessToken = `at-${generation}`;
        const issued = { access: accessToken, refresh: refreshToken };
        const run = hook;
        hook = null;
        if (run) await run();
        answer(200, {
          access_token: issued.access,
          refresh_token: issued.refresh,
          token_type: 'Bearer',
          expires_in: 3600,
        });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    tokenUrl: `http://127.0.0.1:${port}/token`,
    firstRefreshToken: 'rt-0',
    get requests() {
      return requests;
    },
    get staleRefreshTokens() {
      return stale;
    },
    accepts(authorization) {
      return accessToken !== null && authorization === `Bearer ${accessToken}`;
    },
    expireAccessToken() {
      accessToken = null;
    },
    beforeNextAnswer(next) {
      hook = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
