// `herald sandbox`: run the Salesforce-like org for demos and development.

import { parseDuration } from '../../domain/retry.js';
import { parse, UsageError, type Command } from '../command.js';

export const sandbox: Command = {
  name: 'sandbox',
  summary: 'Run a Salesforce-like org (OAuth server with login page + Apex-like listener) locally',
  help: `Usage: herald sandbox [--port 7070] [options]

Runs Herald's sandbox: a Salesforce-like org with the OAuth endpoints (authorize with a login and
consent page, token, revoke, introspect), refresh-token rotation, Salesforce's errors, and an
Apex-REST-like listener at /services/apexrest/*. It prints the connected app's credentials.

Options:
  --port P                 port (default 7070; 0 picks a free one)
  --no-rotation            turn refresh token rotation off (on by default)
  --access-token-ttl D     access-token idle lifetime (default 2h), e.g. 30s
  --concurrent-refresh M   reject (default) or revoke: what a concurrent refresh with the same token does
  --callback-url URL       register one more callback URL (http://localhost:1717/OauthRedirect is registered)
  --client-id ID           fixed consumer key (random by default)
  --client-secret S        fixed consumer secret (random by default)

Controls (no auth, it is a sandbox): GET /_sandbox/stats, POST /_sandbox/expire-access-tokens,
POST /_sandbox/revoke-all, POST /_sandbox/refresh-tokens (mint a grant), GET /_sandbox/received.`,
  async run(args, io) {
    const { values } = parse(args, {
      port: { type: 'string' },
      'no-rotation': { type: 'boolean' },
      'access-token-ttl': { type: 'string' },
      'concurrent-refresh': { type: 'string' },
      'callback-url': { type: 'string', multiple: true },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
    });
    const port = Number(values.port ?? '7070');
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be a TCP port');
    const ttl =
      values['access-token-ttl'] === undefined
        ? undefined
        : parseDuration(values['access-token-ttl']);
    if (values['access-token-ttl'] !== undefined && ttl === undefined)
      throw new UsageError('--access-token-ttl must be a duration such as 30s');
    const mode = values['concurrent-refresh'] ?? 'reject';
    if (mode !== 'reject' && mode !== 'revoke')
      throw new UsageError('--concurrent-refresh must be reject or revoke');
    // Loaded on demand: `herald serve` never needs the sandbox in memory.
    const { startSandbox } = await import('../../sandbox/index.js');
    const org = await startSandbox({
      port,
      rotation: !values['no-rotation'],
      accessTokenTtlMs: ttl,
      concurrentRefresh: mode,
      clientId: values['client-id'],
      clientSecret: values['client-secret'],
    });
    for (const url of values['callback-url'] ?? []) org.addCallbackUrl(url);
    io.out(`Herald sandbox (a Salesforce-like org) at ${org.url}`);
    io.out('');
    io.out(`  Login URL (host)     ${org.url}`);
    io.out(`  Token endpoint       ${org.url}/services/oauth2/token`);
    io.out(`  Apex-like listener   ${org.url}/services/apexrest/<anything>`);
    io.out(`  Consumer key         ${org.connectedApp.clientId}`);
    io.out(`  Consumer secret      ${org.connectedApp.clientSecret}`);
    io.out(`  Callback URLs        ${org.connectedApp.callbackUrls.join(', ')}`);
    for (const user of org.users)
      io.out(`  User                 ${user.username} / ${user.password}`);
    io.out(`  Rotation             ${values['no-rotation'] ? 'off' : 'on'}`);
    io.out('');
    io.out('Get a refresh token:');
    io.out(
      `  herald connect salesforce --login-url ${org.url} --client-id ${org.connectedApp.clientId} --print`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await org.close();
    return 0;
  },
};
