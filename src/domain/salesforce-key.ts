// The `salesforceOauth2` connector key: standard base64 of a JSON object
// `{"host", "client_id", "refresh_token"}` (refresh-token flow) or with `client_secret` instead
// (client-credentials flow). OneSpan documents it written loosely, so parsing is lenient:
// whitespace and line breaks, a trailing comma, unquoted keys, `host` with or without https://.

import { ValidationError } from '../errors.js';

export interface SalesforceKey {
  /** Origin of the Salesforce host, e.g. `https://login.salesforce.com`. */
  readonly host: string;
  readonly clientId: string;
  readonly refreshToken: string | null;
  readonly clientSecret: string | null;
}

function invalid(message: string): ValidationError {
  return new ValidationError('invalid_credentials', `The salesforceOauth2 key ${message}`, {
    problems: [{ path: 'key', message }],
  });
}

/**
 * Makes loosely written JSON strict: unquoted keys quoted, trailing commas dropped. Only the text
 * between string literals is touched: a secret may hold commas, colons and braces.
 */
function relaxJson(text: string): string {
  let out = '';
  let code = '';
  const relax = (part: string): string =>
    part.replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:/g, '$1"$2":').replace(/,(\s*[}\]])/g, '$1');
  for (let i = 0; i < text.length;) {
    if (text[i] !== '"') {
      code += text[i++];
      continue;
    }
    let end = i + 1;
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    out += relax(code) + text.slice(i, end + 1);
    code = '';
    i = end + 1;
  }
  return out + relax(code);
}

export function parseSalesforceKey(key: string): SalesforceKey {
  const compact = key.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw invalid('must be standard base64 of a JSON object {host, client_id, refresh_token}');
  }
  const text = Buffer.from(compact, 'base64').toString('utf8').trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(relaxJson(text));
  } catch {
    throw invalid('does not decode to a JSON object {host, client_id, refresh_token}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid('does not decode to a JSON object');
  }
  const o = parsed as Record<string, unknown>;
  const field = (name: string): string | null => {
    const v = o[name];
    if (v === undefined || v === null || v === '') return null;
    if (typeof v !== 'string') throw invalid(`field ${name} must be a string`);
    const value = v.trim();
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      throw invalid(`field ${name} must not contain control characters`);
    }
    return value;
  };
  const hostText = field('host');
  const clientId = field('client_id');
  const refreshToken = field('refresh_token');
  const clientSecret = field('client_secret');
  if (!hostText) throw invalid('has no host');
  if (!clientId) throw invalid('has no client_id');
  if (!refreshToken && !clientSecret) {
    throw invalid(
      'needs a refresh_token (refresh-token flow) or a client_secret (client-credentials flow)',
    );
  }
  let host: string;
  try {
    const u = new URL(/^https?:\/\//i.test(hostText) ? hostText : `https://${hostText}`);
    host = u.origin;
  } catch {
    throw invalid(`host ${JSON.stringify(hostText)} is not a host name or URL`);
  }
  return { host, clientId, refreshToken, clientSecret };
}

export function salesforceTokenUrl(host: string): string {
  return `${host}/services/oauth2/token`;
}
