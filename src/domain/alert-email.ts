// The email an account's contact receives when one of its endpoints is in trouble: which endpoint,
// what happened, what to do, and a link to the console. Plain text and HTML from the same facts.
// Built only from what is safe to show: the endpoint's URL without credentials or query string,
// its id and description, and reasons written by Herald. Never a secret.

import type { EndpointId } from './ids.js';
import type { EmailedType } from './operational.js';

/** At most one email per endpoint and type in this time; later events are counted into the next. */
export const ALERT_EMAIL_GAP_MS = 3600_000;

/** The first pause after a failed send, doubling with each failure up to the longest. */
const FIRST_RETRY_MS = 30_000;
const LONGEST_RETRY_MS = 3600_000;

/** When to try again after the `failures`-th failed send: a doubling pause, ±20 % jitter. */
export function nextAlertTryAt(failures: number, now: number, random: number): number {
  const pause = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
  return now + Math.round(pause * (0.8 + 0.4 * random));
}

export interface AlertFacts {
  readonly type: EmailedType;
  readonly endpointId: EndpointId;
  /** The endpoint's URL as stored; shown without credentials, query or fragment. */
  readonly endpointUrl: string;
  readonly endpointDescription: string | null;
  /** Operational events gathered into this email (1 when it is about one). */
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
  /** The `data` of the latest of them. */
  readonly data: Readonly<Record<string, unknown>>;
  /** `{HERALD_PUBLIC_URL}/console/endpoints/{id}`, or null when no public URL is set. */
  readonly consoleUrl: string | null;
}

export interface AlertEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * The URL as it may appear in an email: scheme, host, port and path. A user name, password, query
 * string (often a token) or fragment is left out.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.username || u.password || u.search ? ' (credentials and query not shown)' : '';
    return `${u.protocol}//${u.host}${u.pathname}${hidden}`;
  } catch {
    return '(an invalid URL)';
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

interface Story {
  readonly subject: string;
  readonly happened: string;
  readonly todo: readonly string[];
}

function story(f: AlertFacts, where: string): Story {
  switch (f.type) {
    case 'endpoint.disabled':
      return {
        subject: `Endpoint disabled: ${where}`,
        happened: `Herald disabled the endpoint ${where}${
          text(f.data.reason) ? ` because ${text(f.data.reason)}` : ''
        }. New events for it are kept as held deliveries; nothing is sent to it until it is enabled.`,
        todo: [
          'Check that the listener at this URL is up and accepts POST requests (a 410 Gone disables an endpoint at once).',
          'Fix the listener or change the endpoint URL, then enable the endpoint: its held deliveries are sent then.',
        ],
      };
    case 'endpoint.reauthorization_required':
      return {
        subject: `Reconnect needed: ${where}`,
        happened: `The token endpoint refused the OAuth credentials of the endpoint ${where} for good${
          text(f.data.reason) ? ` (${text(f.data.reason)})` : ''
        }. Its deliveries are held: none is lost, none is sent until it is reconnected.`,
        todo: [
          'Reconnect the endpoint: sign in again with Connect in the console, run `herald connect salesforce --endpoint <id>`, or send new credentials with PUT /v1/endpoints/<id>/credentials.',
          'Held deliveries resume, in order, as soon as the new credentials are stored.',
        ],
      };
    case 'delivery.exhausted': {
      const attempts = typeof f.data.attempts === 'number' ? f.data.attempts : undefined;
      const last = text(f.data.lastError);
      return {
        subject: `Deliveries failed: ${where}`,
        happened: `${
          f.count === 1 ? 'A delivery' : `${f.count} deliveries`
        } to the endpoint ${where} used every try of the retry schedule and ${
          f.count === 1 ? 'is' : 'are'
        } now failed${attempts === undefined ? '' : ` (the latest after ${attempts} attempts`}${
          attempts === undefined ? '' : last ? `, last error: ${last})` : ')'
        }.`,
        todo: [
          'Check the listener at this URL: its logs, its answers to POST requests, its certificate.',
          'Once it works, send the failed deliveries again: Recover in the console, or POST /v1/endpoints/<id>/recover.',
        ],
      };
    }
  }
}

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function alertEmail(f: AlertFacts): AlertEmail {
  const where = displayUrl(f.endpointUrl);
  const s = story(f, where);
  const todo = s.todo.map((line) => line.replaceAll('<id>', f.endpointId));
  const iso = (ms: number): string => new Date(ms).toISOString();
  const when =
    f.count === 1
      ? `At ${iso(f.lastAt)}.`
      : `${
          f.type === 'delivery.exhausted' ? 'Between' : `This happened ${f.count} times between`
        } ${iso(f.firstAt)} and ${iso(f.lastAt)}. Herald sends at most one email an hour per endpoint and kind of trouble, and counts the rest into the next one.`;
  const facts = [
    ['Endpoint', where],
    ['Endpoint id', f.endpointId],
    ...(f.endpointDescription ? [['Description', f.endpointDescription]] : []),
  ] as const;
  const lines = [
    s.happened,
    when,
    '',
    ...facts.map(([k, v]) => `${k}: ${v}`),
    '',
    'What to do:',
    ...todo.map((line) => `- ${line}`),
    ...(f.consoleUrl ? ['', `Open the endpoint in the console: ${f.consoleUrl}`] : []),
    '',
    '-- Herald',
  ];
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif">',
    `<p>${escapeHtml(s.happened)}</p>`,
    `<p>${escapeHtml(when)}</p>`,
    '<table>',
    ...facts.map(
      ([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
    ),
    '</table>',
    '<p>What to do:</p><ul>',
    ...todo.map((line) => `<li>${escapeHtml(line)}</li>`),
    '</ul>',
    ...(f.consoleUrl
      ? [`<p><a href="${escapeHtml(f.consoleUrl)}">Open the endpoint in the console</a></p>`]
      : []),
    '<p>&mdash; Herald</p></body></html>',
  ];
  return { subject: `Herald: ${s.subject}`, text: lines.join('\n'), html: html.join('\n') };
}
