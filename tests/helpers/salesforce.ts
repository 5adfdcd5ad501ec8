// A `salesforceOauth2` key (base64 of {host, client_id, refresh_token}) for the sandbox's org.

import type { Sandbox } from '../../src/sandbox/index.js';

export function sandboxSalesforceKey(sandbox: Sandbox, refreshToken: string): string {
  return Buffer.from(
    JSON.stringify({
      host: sandbox.url,
      client_id: sandbox.connectedApp.clientId,
      refresh_token: refreshToken,
    }),
  ).toString('base64');
}
