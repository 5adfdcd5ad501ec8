// The Apex-REST-like listener, `{instance_url}/services/apexrest/*`: where Herald delivers.
// It is the only place an access token's death becomes visible to a client, as Salesforce's
// exact 401 body. A token without the `api` scope gets a 401 with the same error code but a
// message a refresh cannot fix, so clients that refresh on every 401 loop here as they would
// against the real org.
//
// It is the sandbox's busiest route (every delivery of Herald's OAuth tests and benchmarks), so
// a listening sandbox answers it straight from node:http (`serveApexRest`), without building a
// web Request and Response per callback; `listenerRoutes` answers the same through Hono for the
// socket-less sandbox. Both run `answerApexRest`.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { bearerOf, SESSION_INVALID, SESSION_NOT_FOR_REST, sleep } from './http.js';
import type { SandboxState } from './state.js';

const APEX_REST_PREFIX = '/services/apexrest/';

/** One callback as the listener sees it, whichever server received it. */
interface ApexRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  /** Request headers with lower-cased names. */
  headers(): Record<string, string>;
  body(): Promise<string>;
}

interface ApexAnswer {
  readonly status: 200 | 401 | 405;
  /** A JSON body, or none (a void `@HttpPost` method). */
  readonly json?: unknown;
  readonly headers?: Record<string, string>;
}

async function answerApexRest(state: SandboxState, req: ApexRequest): Promise<ApexAnswer> {
  // The session is checked when the request arrives, before any Apex code would run.
  const token = bearerOf(req.authorization);
  const record = token ? state.liveAccessToken(token) : undefined;
  if (!token || !record) {
    state.counters.listenerRejected401++;
    return { status: 401, json: SESSION_INVALID };
  }
  const { grant } = record;
  if (!grant.scopes.includes('api') && !grant.scopes.includes('full')) {
    state.counters.listenerRejected401++;
    return { status: 401, json: SESSION_NOT_FOR_REST };
  }
  state.touch(record);
  if (req.method !== 'POST') {
    return {
      status: 405,
      json: [
        {
          errorCode: 'METHOD_NOT_ALLOWED',
          message: `HTTP Method '${req.method}' not allowed. Allowed are POST`,
        },
      ],
      headers: { Allow: 'POST' },
    };
  }

  const body = await req.body();
  await sleep(state.tunables.listenerLatencyMs);
  state.received.push({
    path: req.path,
    headers: req.headers(),
    body,
    accessToken: token,
    username: grant.user.username,
    at: state.now(),
  });
  state.counters.listenerAccepted++;
  // A void @HttpPost method answers 200 with an empty body.
  return { status: 200 };
}

export function listenerRoutes(state: SandboxState): Hono {
  const routes = new Hono();

  routes.all(`${APEX_REST_PREFIX}*`, async (c) => {
    const answer = await answerApexRest(state, {
      method: c.req.method,
      path: c.req.path,
      authorization: c.req.header('authorization'),
      headers: () => {
        const headers: Record<string, string> = {};
        c.req.raw.headers.forEach((value, name) => {
          headers[name] = value;
        });
        return headers;
      },
      body: () => c.req.text(),
    });
    return answer.json === undefined
      ? c.body(null, answer.status, answer.headers)
      : c.json(answer.json, answer.status, answer.headers);
  });

  return routes;
}

/**
 * Whether a request on the sandbox's socket is a callback `serveApexRest` answers exactly as the
 * Hono route would: under the prefix, with a path Hono would not rewrite (percent-escapes are
 * decoded and dot segments resolved there), and at most one Authorization header (Node keeps
 * only the first; Hono would see them joined, which is no bearer token).
 */
export function answersDirectly(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  if (!url.startsWith(APEX_REST_PREFIX)) return false;
  const query = url.indexOf('?');
  if (/[%\\]|\/\./.test(query === -1 ? url : url.slice(0, query))) return false;
  let authorizations = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'authorization') authorizations++;
  }
  return authorizations <= 1;
}

/** Answers a callback that arrived on the sandbox's socket (see answersDirectly). */
export async function serveApexRest(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  try {
    const answer = await answerApexRest(state, {
      method: req.method ?? 'GET',
      path: query === -1 ? url : url.slice(0, query),
      authorization: req.headers.authorization,
      headers: () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
        }
        return headers;
      },
      body: () => readText(req),
    });
    if (answer.json === undefined) {
      res.writeHead(answer.status, answer.headers);
      res.end();
      return;
    }
    const text = JSON.stringify(answer.json);
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...answer.headers,
    });
    res.end(text);
  } catch (error) {
    // As the Hono app's error handler: a sandbox bug is loud in the test that hit it.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify([
      { errorCode: 'UNKNOWN_EXCEPTION', message: (error as Error).message },
    ]);
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(text);
  }
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      resolve(
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      ),
    );
    req.on('error', reject);
  });
}
