// A scripted OAuth token endpoint on loopback, for what the sandbox cannot be made to do on cue:
// an answer lost after the request was read, a concurrent-refresh refusal, a 5xx, expires_in,
// and a grant whose rotation the test can read step by step.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the endpoint answers: a JSON body with a status, or nothing (the socket is closed). */
export type Answer = { readonly status: number; readonly body: unknown } | 'hang up';

export interface TokenEndpoint {
  readonly url: string;
  /** The form of every request, in arrival order. */
  readonly calls: URLSearchParams[];
  /** When each request arrived and when its answer was sent (ms since epoch). */
  readonly arrivedAt: number[];
  readonly answeredAt: number[];
  close(): Promise<void>;
}

export async function startTokenEndpoint(
  script: (form: URLSearchParams, n: number) => Answer,
): Promise<TokenEndpoint> {
  const calls: URLSearchParams[] = [];
  const arrivedAt: number[] = [];
  const answeredAt: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      calls.push(form);
      arrivedAt.push(Date.now());
      const answer = script(form, calls.length);
      answeredAt.push(Date.now());
      // The request was read in full: the server acted on it, the client never hears back.
      if (answer === 'hang up') req.socket.destroy();
      else {
        res
          .writeHead(answer.status, { 'content-type': 'application/json' })
          .end(JSON.stringify(answer.body));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/oauth2/token`,
    calls,
    arrivedAt,
    answeredAt,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Request `n` gets `at-n` and, rotated, `rt-n`, whatever it presented. */
export const rotating = (_form: URLSearchParams, n: number): Answer => ({
  status: 200,
  body: {
    access_token: `at-${n}`,
    refresh_token: `rt-${n}`,
    token_type: 'Bearer',
    instance_url: 'https://x.example',
    issued_at: String(Date.now()),
  },
});

export interface RotatingGrant {
  /** The token script: pass it to startTokenEndpoint. */
  readonly script: (form: URLSearchParams, n: number) => Answer;
  /** The refresh token that works now. */
  current(): string;
  /** Refresh tokens presented after they had been rotated out (each one revoked the grant). */
  readonly spentPresented: string[];
}

/**
 * A grant with rotation as Salesforce runs it: refresh `n` answers `at-n` and `rt-n`, and only
 * the newest refresh token works; presenting a rotated-out one revokes the grant for good.
 */
export function rotatingGrant(first = 'rt-0'): RotatingGrant {
  let current = first;
  let issued = 0;
  let revoked = false;
  const spentPresented: string[] = [];
  return {
    current: () => current,
    spentPresented,
    script(form) {
      const presented = form.get('refresh_token') ?? '';
      if (presented !== current) {
        spentPresented.push(presented);
        revoked = true;
      }
      if (revoked) {
        return {
          status: 400,
          body: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
        };
      }
      issued++;
      current = `rt-${issued}`;
      return {
        status: 200,
        body: {
          access_token: `at-${issued}`,
          refresh_token: current,
          token_type: 'Bearer',
          instance_url: 'https://x.example',
          issued_at: String(Date.now()),
        },
      };
    },
  };
}

/** The `auth` of a /v1 endpoint whose grant is `refreshToken` at `tokenUrl` (client-1, form body). */
export function refreshTokenAuth(tokenUrl: string, refreshToken = 'rt-0') {
  return {
    type: 'OAUTH2',
    grantType: 'REFRESH_TOKEN',
    tokenUrl,
    clientId: 'client-1',
    refreshToken,
    authMechanism: 'BODY',
  };
}

/** A Salesforce listener's answer to an expired or revoked session (a listener Reply). */
export const SESSION_EXPIRED = {
  status: 401,
  headers: { 'content-type': 'application/json' },
  body: '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]',
};
