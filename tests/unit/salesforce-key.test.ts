import { describe, it, expect } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import type { HeraldError } from '../../src/errors.js';
import { parseSalesforceKey, salesforceTokenUrl } from '../../src/domain/salesforce-key.js';
import type { SalesforceKey } from '../../src/domain/salesforce-key.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

const CLIENT_ID = '3MVG9A2kN3Bn17huQqZ.wxyz_0123456789';
const REFRESH = '5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrkOA8Pxm3wK.yzAbCdEf0123==';
const SECRET = 'E1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F6071829';

function refused(key: string): HeraldError {
  try {
    parseSalesforceKey(key);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as HeraldError;
  }
  throw new Error('expected parseSalesforceKey to throw');
}

describe('parseSalesforceKey', () => {
  it.each<[string, string, SalesforceKey]>([
    [
      'strict JSON, refresh-token flow',
      b64(
        JSON.stringify({
          host: 'https://login.salesforce.com',
          client_id: CLIENT_ID,
          refresh_token: REFRESH,
        }),
      ),
      {
        host: 'https://login.salesforce.com',
        clientId: CLIENT_ID,
        refreshToken: REFRESH,
        clientSecret: null,
      },
    ],
    [
      'loosely written JSON as OneSpan documents it',
      b64(
        `{\n  host: "https://login.salesforce.com",\n  client_id: "${CLIENT_ID}",\n  refresh_token: "${REFRESH}",\n}\n`,
      ),
      {
        host: 'https://login.salesforce.com',
        clientId: CLIENT_ID,
        refreshToken: REFRESH,
        clientSecret: null,
      },
    ],
    [
      'JSON with CRLF line breaks, tabs and a trailing comma',
      b64(
        `\r\n{\r\n\t"host" : "test.salesforce.com" ,\r\n\t"client_id":"${CLIENT_ID}",\r\n\t"refresh_token":"${REFRESH}" ,\r\n}\r\n`,
      ),
      {
        host: 'https://test.salesforce.com',
        clientId: CLIENT_ID,
        refreshToken: REFRESH,
        clientSecret: null,
      },
    ],
    [
      'client-credentials flow',
      b64(
        JSON.stringify({
          host: 'https://acme.my.salesforce.com',
          client_id: CLIENT_ID,
          client_secret: SECRET,
        }),
      ),
      {
        host: 'https://acme.my.salesforce.com',
        clientId: CLIENT_ID,
        refreshToken: null,
        clientSecret: SECRET,
      },
    ],
    [
      'both a refresh token and a client secret',
      b64(
        JSON.stringify({
          host: 'acme.my.salesforce.com',
          client_id: CLIENT_ID,
          refresh_token: REFRESH,
          client_secret: SECRET,
        }),
      ),
      {
        host: 'https://acme.my.salesforce.com',
        clientId: CLIENT_ID,
        refreshToken: REFRESH,
        clientSecret: SECRET,
      },
    ],
    [
      'a null refresh token beside a client secret',
      b64(
        JSON.stringify({
          host: 'acme.my.salesforce.com',
          client_id: CLIENT_ID,
          refresh_token: null,
          client_secret: SECRET,
        }),
      ),
      {
        host: 'https://acme.my.salesforce.com',
        clientId: CLIENT_ID,
        refreshToken: null,
        clientSecret: SECRET,
      },
    ],
    [
      'values with surrounding spaces',
      b64(
        JSON.stringify({
          host: '  login.salesforce.com ',
          client_id: ` ${CLIENT_ID} `,
          refresh_token: `${REFRESH}\n`,
        }),
      ),
      {
        host: 'https://login.salesforce.com',
        clientId: CLIENT_ID,
        refreshToken: REFRESH,
        clientSecret: null,
      },
    ],
  ])('parses %s', (_label, key, expected) => {
    expect(parseSalesforceKey(key)).toEqual(expected);
  });

  it('accepts base64 broken over several lines, as terminals and e-mail wrap it', () => {
    const key = b64(
      JSON.stringify({
        host: 'login.salesforce.com',
        client_id: CLIENT_ID,
        refresh_token: REFRESH,
      }),
    );
    const wrapped = `  ${key.match(/.{1,20}/g)!.join('\r\n')}\n`;
    expect(wrapped).toContain('\n');
    expect(parseSalesforceKey(wrapped)).toEqual({
      host: 'https://login.salesforce.com',
      clientId: CLIENT_ID,
      refreshToken: REFRESH,
      clientSecret: null,
    });
  });

  it.each([
    ['login.salesforce.com', 'https://login.salesforce.com'],
    ['https://login.salesforce.com', 'https://login.salesforce.com'],
    ['https://login.salesforce.com/', 'https://login.salesforce.com'],
    ['HTTPS://Login.Salesforce.COM', 'https://login.salesforce.com'],
    ['https://acme.my.salesforce.com/services/oauth2/token', 'https://acme.my.salesforce.com'],
    ['acme.my.salesforce.com/some/path?x=1#y', 'https://acme.my.salesforce.com'],
    ['http://localhost:8443', 'http://localhost:8443'],
    ['127.0.0.1:9000', 'https://127.0.0.1:9000'],
    ['https://test.salesforce.com:443', 'https://test.salesforce.com'],
  ])('takes the origin of host %j', (host, origin) => {
    const key = b64(JSON.stringify({ host, client_id: CLIENT_ID, refresh_token: REFRESH }));
    expect(parseSalesforceKey(key).host).toBe(origin);
  });

  it.each([
    ['an empty key', ''],
    ['only whitespace', ' \n '],
    ['characters outside base64', 'not base64!'],
    ['base64url characters', 'eyJob3N0Ijoi-_'],
    ['raw JSON instead of base64', '{"host":"login.salesforce.com"}'],
    ['too much padding', `${b64('{"a":1}')}===`],
    ['text that is not JSON', b64('host=login.salesforce.com&client_id=x')],
    ['truncated JSON', b64('{"host":"login.salesforce.com","client_id":"x"')],
    ['a JSON array', b64('[{"host":"login.salesforce.com"}]')],
    ['a JSON string', b64('"login.salesforce.com"')],
    ['JSON null', b64('null')],
    ['a missing host', b64(JSON.stringify({ client_id: CLIENT_ID, refresh_token: REFRESH }))],
    [
      'an empty host',
      b64(JSON.stringify({ host: '', client_id: CLIENT_ID, refresh_token: REFRESH })),
    ],
    [
      'a host that is not a host',
      b64(JSON.stringify({ host: 'not a host', client_id: CLIENT_ID, refresh_token: REFRESH })),
    ],
    [
      'a numeric host',
      b64(JSON.stringify({ host: 42, client_id: CLIENT_ID, refresh_token: REFRESH })),
    ],
    [
      'a missing client_id',
      b64(JSON.stringify({ host: 'login.salesforce.com', refresh_token: REFRESH })),
    ],
    [
      'a numeric client_id',
      b64(JSON.stringify({ host: 'login.salesforce.com', client_id: 1, refresh_token: REFRESH })),
    ],
    [
      'neither refresh_token nor client_secret',
      b64(JSON.stringify({ host: 'login.salesforce.com', client_id: CLIENT_ID })),
    ],
    [
      'empty refresh_token and client_secret',
      b64(
        JSON.stringify({
          host: 'login.salesforce.com',
          client_id: CLIENT_ID,
          refresh_token: '',
          client_secret: '',
        }),
      ),
    ],
  ])('refuses %s with invalid_credentials', (_label, key) => {
    const err = refused(key);
    expect(err.code).toBe('invalid_credentials');
    expect(err.status).toBe(422);
    expect(err.message.startsWith('The salesforceOauth2 key ')).toBe(true);
    expect(err.problems).toHaveLength(1);
    expect(err.problems?.[0]?.path).toBe('key');
  });

  it.each([
    [
      'not base64!',
      'The salesforceOauth2 key must be standard base64 of a JSON object {host, client_id, refresh_token}',
    ],
    [
      b64('hello'),
      'The salesforceOauth2 key does not decode to a JSON object {host, client_id, refresh_token}',
    ],
    [b64('[1]'), 'The salesforceOauth2 key does not decode to a JSON object'],
    [b64('{"client_id":"x","refresh_token":"y"}'), 'The salesforceOauth2 key has no host'],
    [
      b64('{"host":"login.salesforce.com","refresh_token":"y"}'),
      'The salesforceOauth2 key has no client_id',
    ],
    [
      b64('{"host":"login.salesforce.com","client_id":"x"}'),
      'The salesforceOauth2 key needs a refresh_token (refresh-token flow) or a client_secret (client-credentials flow)',
    ],
    [
      b64('{"host":"login.salesforce.com","client_id":"x","client_secret":7}'),
      'The salesforceOauth2 key field client_secret must be a string',
    ],
  ])('explains what is wrong with %j', (key, message) => {
    expect(refused(key).message).toBe(message);
  });

  it('keeps string values exactly, commas, colons and braces included, strict or loose', () => {
    for (const secret of ['abc,def:ghi', 'abcdefgh,}', 'x, y: z, ]', 'quote\\"inside']) {
      const strict = JSON.stringify({
        host: 'login.salesforce.com',
        client_id: CLIENT_ID,
        client_secret: secret,
      });
      expect(parseSalesforceKey(b64(strict)).clientSecret).toBe(JSON.parse(strict).client_secret);
      const loose = `{ host: "login.salesforce.com", client_id: "${CLIENT_ID}", client_secret: ${JSON.stringify(secret)}, }`;
      expect(parseSalesforceKey(b64(loose)).clientSecret).toBe(JSON.parse(strict).client_secret);
    }
  });

  it('refuses control characters in a field', () => {
    const key = b64(
      JSON.stringify({
        host: 'login.salesforce.com',
        client_id: 'a\u0000b',
        refresh_token: REFRESH,
      }),
    );
    expect(refused(key).message).toBe(
      'The salesforceOauth2 key field client_id must not contain control characters',
    );
  });

  it('never repeats a secret in its error message', () => {
    const key = b64(
      JSON.stringify({ host: 'not a host', client_id: CLIENT_ID, refresh_token: REFRESH }),
    );
    const err = refused(key);
    expect(err.message).not.toContain(REFRESH);
    expect(JSON.stringify(err.problems)).not.toContain(REFRESH);
  });
});

describe('salesforceTokenUrl', () => {
  it.each([
    ['https://login.salesforce.com', 'https://login.salesforce.com/services/oauth2/token'],
    ['https://acme.my.salesforce.com', 'https://acme.my.salesforce.com/services/oauth2/token'],
  ])('builds the token endpoint of %s', (host, url) => {
    expect(salesforceTokenUrl(host)).toBe(url);
  });
});
