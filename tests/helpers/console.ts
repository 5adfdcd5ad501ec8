// The console app over a test Herald's services, driven with app.request() (no socket), with a
// cookie jar per client and a clock the test moves.

import { createConsole } from '../../src/console/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import { generateMasterKey, SecretBox } from '../../src/services/secret-box.js';
import type { Services } from '../../src/services/index.js';

export interface ConsoleClient {
  /** Cookies by name, as the browser would keep them (path and expiry ignored). */
  readonly cookies: Map<string, string>;
  /** The raw Set-Cookie headers of the last response. */
  lastSetCookies: string[];
  request(
    path: string,
    init?: RequestInit & { form?: Record<string, string | string[]> },
  ): Promise<Response>;
  /** Signs in with `key` and returns the session's CSRF token (read from a page). */
  signIn(key: string): Promise<string>;
  /** The CSRF token of the signed-in session, from the overview page's sign-out form. */
  csrf(): Promise<string>;
}

export interface TestConsole {
  readonly app: ReturnType<typeof createConsole>;
  readonly clock: { now: number; advance(ms: number): void };
  client(origin?: string): ConsoleClient;
}

export function testConsole(
  services: Services,
  options: { sessionMs?: number; publicUrl?: string | null } = {},
): TestConsole {
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      this.now += ms;
    },
  };
  const app = createConsole({
    services,
    clock: () => clock.now,
    box: SecretBox.fromText(generateMasterKey()).derive('herald console cookies'),
    sessionMs: options.sessionMs ?? 3600_000,
    publicUrl: options.publicUrl ?? null,
    logger: silentLogger(),
    version: 'test',
  });
  return {
    app,
    clock,
    client(origin = 'http://localhost') {
      const cookies = new Map<string, string>();
      const client: ConsoleClient = {
        cookies,
        lastSetCookies: [],
        async request(path, init = {}) {
          const headers = new Headers(init.headers);
          if (cookies.size > 0) {
            headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
          }
          let body = init.body;
          if (init.form) {
            const form = new URLSearchParams();
            for (const [k, v] of Object.entries(init.form)) {
              for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
            }
            body = form.toString();
            headers.set('content-type', 'application/x-www-form-urlencoded');
          }
          const response = await app.request(`${origin}${path.replace(/^\/console/, '')}`, {
            ...init,
            method: init.method ?? (init.form ? 'POST' : 'GET'),
            headers,
            body,
          });
          client.lastSetCookies = response.headers.getSetCookie();
          for (const line of client.lastSetCookies) {
            const [pair, ...attributes] = line.split(';');
            const at = pair!.indexOf('=');
            const name = pair!.slice(0, at).trim();
            const value = pair!.slice(at + 1).trim();
            const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
            if (gone) cookies.delete(name);
            else cookies.set(name, value);
          }
          return response;
        },
        async signIn(key) {
          const response = await client.request('/console/sign-in', { form: { apiKey: key } });
          if (response.status !== 303) {
            throw new Error(`sign-in answered ${response.status}: ${await response.text()}`);
          }
          return client.csrf();
        },
        async csrf() {
          const html = await (await client.request('/console/')).text();
          const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
          if (!token) throw new Error('no CSRF token on the page');
          return token;
        },
      };
      return client;
    },
  };
}

/** The text of a page without its tags, for assertions on what a person reads. */
export function pageText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}
