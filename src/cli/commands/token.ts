// `herald token test|refresh|revoke|introspect`: the rest of a refresh token's life, for an
// endpoint's stored credential (through the server) or for a token given on the command line.

import { requestToken } from '../../oauth/grant.js';
import { fetchIdentity, introspectToken, revokeToken } from '../../oauth/token-tools.js';
import { DEFAULT_LOGIN_URL } from '../../oauth/web-flow.js';
import { apiClient, CLIENT_HELP, CLIENT_OPTIONS } from '../api-client.js';
import { parse, UsageError, type Command, type Io } from '../command.js';

const OPTIONS = {
  ...CLIENT_OPTIONS,
  endpoint: { type: 'string' },
  'login-url': { type: 'string' },
  'token-url': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  'refresh-token': { type: 'string' },
  token: { type: 'string' },
} as const;

const HELP_DIRECT = `For an endpoint's stored credential (through the running server):
  --endpoint EP_ID
Or for a token given here (the command talks to the org itself):
  --login-url URL       default ${DEFAULT_LOGIN_URL}
  --token-url URL       token endpoint, for servers that are not Salesforce
  --client-id ID        the Consumer Key
  --client-secret S     the Consumer Secret, if the app requires it`;

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

function direct(values: Values) {
  const clientId = values['client-id'];
  if (!clientId) throw new UsageError('Give --endpoint, or --client-id with the token');
  const tokenUrl =
    values['token-url'] ??
    `${(values['login-url'] ?? DEFAULT_LOGIN_URL).replace(/\/+$/, '')}/services/oauth2/token`;
  return { tokenUrl, clientId, clientSecret: values['client-secret'] };
}

function printReport(io: Io, report: Record<string, unknown>, json: boolean | undefined): void {
  if (json) {
    io.out(JSON.stringify(report));
    return;
  }
  for (const [k, v] of Object.entries(report)) {
    if (v === null || v === undefined) continue;
    io.out(`${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
}

function refreshCommand(name: 'test' | 'refresh'): Command {
  const test = name === 'test';
  return {
    name: `token ${name}`,
    summary: test
      ? 'Refresh once and report instance URL, user and scopes (a rotated token is kept)'
      : 'Get a new access token now (a rotated refresh token is kept)',
    help: `Usage: herald token ${name} (--endpoint EP_ID | --client-id ID --refresh-token T [--login-url URL])

${test ? 'Makes one refresh and reports the instance URL, the user and the scopes.' : 'Refreshes the access token now.'} Under refresh token
rotation the new refresh token is stored in the endpoint (or printed, for a token given here),
so this never breaks the grant.

${HELP_DIRECT}
  --refresh-token T     the refresh token
${CLIENT_HELP}`,
    async run(args, io) {
      const { values } = parse(args, OPTIONS);
      if (values.endpoint) {
        const report = (await apiClient(values, io).request(
          'POST',
          `/v1/endpoints/${encodeURIComponent(values.endpoint)}/token/${name}`,
        )) as Record<string, unknown>;
        printReport(io, report, values.json);
        return report.ok ? 0 : 1;
      }
      const server = direct(values);
      const refreshToken = values['refresh-token'];
      if (!refreshToken) throw new UsageError('--refresh-token is required without --endpoint');
      const result = await requestToken(
        {
          oauth: {
            flavor: 'salesforce',
            grantType: 'REFRESH_TOKEN',
            tokenUrl: server.tokenUrl,
            clientId: server.clientId,
            scope: null,
            authMechanism: 'BODY',
            customParameters: [],
          },
          clientSecret: server.clientSecret,
          refreshToken,
        },
        fetch,
      );
      if (!result.ok) {
        io.err(`Refresh failed (${result.kind}): ${result.message}`);
        return 1;
      }
      const rotated = result.refreshToken !== undefined && result.refreshToken !== refreshToken;
      const identity =
        test && result.identityUrl
          ? await fetchIdentity(result.identityUrl, result.accessToken, fetch).catch(() => null)
          : null;
      printReport(
        io,
        {
          ok: true,
          instanceUrl: result.instanceUrl,
          scope: result.scope,
          user: identity?.username,
          accessToken: test ? undefined : result.accessToken,
          rotated,
          newRefreshToken: rotated ? result.refreshToken : undefined,
        },
        values.json,
      );
      if (rotated && !values.json)
        io.err('The org rotated the refresh token: the old one is dead now; keep newRefreshToken.');
      return 0;
    },
  };
}

export const tokenTest = refreshCommand('test');
export const tokenRefresh = refreshCommand('refresh');

export const tokenRevoke: Command = {
  name: 'token revoke',
  summary: 'Revoke a refresh token (ends the grant); an unknown token counts as already revoked',
  help: `Usage: herald token revoke (--endpoint EP_ID | --client-id ID --token T [--login-url URL])

Revokes the token at the org (revoking a refresh token ends the whole grant). Salesforce answers
400 invalid_token for a token it does not know: that counts as already revoked. With --endpoint the
endpoint is parked (reauthorization_required) until it is reconnected.

${HELP_DIRECT}
  --token T             the refresh or access token to revoke
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, OPTIONS);
    if (values.endpoint) {
      const result = (await apiClient(values, io).request(
        'POST',
        `/v1/endpoints/${encodeURIComponent(values.endpoint)}/token/revoke`,
      )) as { result: string };
      io.out(
        values.json
          ? JSON.stringify(result)
          : result.result === 'revoked'
            ? 'Revoked; the endpoint now needs reconnecting.'
            : 'Already invalid; the endpoint now needs reconnecting.',
      );
      return 0;
    }
    const token = values.token ?? values['refresh-token'];
    if (!token) throw new UsageError('--token is required without --endpoint');
    const result = await revokeToken(direct(values), token, fetch);
    io.out(
      values.json
        ? JSON.stringify({ result })
        : result === 'revoked'
          ? 'Revoked.'
          : 'The org does not know this token: already revoked.',
    );
    return 0;
  },
};

export const tokenIntrospect: Command = {
  name: 'token introspect',
  summary: 'Ask the org whether a token is active, for whom, with which scopes',
  help: `Usage: herald token introspect (--endpoint EP_ID | --client-id ID --client-secret S --token T [--login-url URL])

Salesforce's introspection endpoint needs the app's client id and secret.

${HELP_DIRECT}
  --token T             the token to inspect
${CLIENT_HELP}`,
  async run(args, io) {
    const { values } = parse(args, OPTIONS);
    if (values.endpoint) {
      const result = await apiClient(values, io).request(
        'POST',
        `/v1/endpoints/${encodeURIComponent(values.endpoint)}/token/introspect`,
      );
      io.out(JSON.stringify(result, null, values.json ? undefined : 2));
      return 0;
    }
    const token = values.token ?? values['refresh-token'];
    if (!token) throw new UsageError('--token is required without --endpoint');
    const result = await introspectToken(direct(values), token, fetch);
    io.out(JSON.stringify(result, null, values.json ? undefined : 2));
    return result.active ? 0 : 1;
  },
};
