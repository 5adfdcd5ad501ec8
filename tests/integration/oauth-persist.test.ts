// Persist before use (SPEC 6.1): a token response's rotated refresh token is in the store before
// the access token that came with it is first sent to a listener. Checked from the listener's
// side, through a connection of its own to the database (as another process would see it): at
// the moment a new bearer token first arrives, its refresh token is committed.
// (The crash after rotation is in tests/cli/crash.test.ts.)

import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateMasterKey, SecretBox } from '../../src/services/secret-box.js';
import type { EndpointId } from '../../src/domain/ids.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/port.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { eventually, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';
import {
  refreshTokenAuth,
  rotatingGrant,
  SESSION_EXPIRED,
  startTokenEndpoint,
  type TokenEndpoint,
} from '../helpers/token-endpoint.js';

describe('persist before use', () => {
  let herald: TestHerald | undefined;
  let listener: Listener | undefined;
  let tokens: TokenEndpoint | undefined;
  let observer: Store | undefined;
  afterEach(async () => {
    await observer?.close();
    await herald?.close();
    await listener?.close();
    await tokens?.close();
    herald = listener = tokens = observer = undefined;
  });

  it('stores each rotated refresh token before the new access token is first sent', async () => {
    const grant = rotatingGrant('rt-0');
    tokens = await startTokenEndpoint(grant.script);
    const masterKey = generateMasterKey();
    const box = SecretBox.fromText(masterKey);
    const running = await startTestHerald({ HERALD_MASTER_KEY: masterKey });
    herald = running;
    // The store as another connection sees it: only what has been committed.
    const committed: Store = running.databaseUrl
      ? new PostgresStore({ connectionString: running.databaseUrl, poolSize: 1 })
      : new SqliteStore({ path: join(running.dataDir, 'herald.db'), synchronous: 'normal' });
    observer = committed;
    const registered: { endpointId?: EndpointId } = {};
    /** What the store held when each bearer token first reached the listener. */
    const storedAtFirstUse = new Map<string, { access: string | null; refresh: string | null }>();
    listener = await startListener(async (request) => {
      const bearer = String(request.headers.authorization).replace(/^Bearer /, '');
      if (!storedAtFirstUse.has(bearer)) {
        const record = await committed.getToken(registered.endpointId!);
        storedAtFirstUse.set(bearer, {
          access: record?.accessTokenCiphertext ? box.open(record.accessTokenCiphertext) : null,
          refresh: record?.refreshTokenCiphertext ? box.open(record.refreshTokenCiphertext) : null,
        });
      }
      // The first session is refused once, as expired: a second rotation follows.
      return bearer === 'at-1' ? SESSION_EXPIRED : { status: 200 };
    });
    const created = await running.api('POST', '/v1/endpoints', {
      url: `${listener.url}/services/apexrest/herald`,
      events: ['PACKAGE_COMPLETE'],
      auth: refreshTokenAuth(tokens.url),
    });
    expect(created.status, created.text).toBe(201);
    const endpointId = created.body.id as EndpointId;
    registered.endpointId = endpointId;

    await running.api('POST', '/v1/events', { name: 'PACKAGE_COMPLETE', packageId: 'p-1' });
    await eventually(async () => {
      const res = await running.api('GET', `/v1/deliveries?endpoint=${endpointId}`);
      return res.body.data[0]?.status === 'succeeded' ? true : undefined;
    });
    expect([...storedAtFirstUse]).toEqual([
      ['at-1', { access: 'at-1', refresh: 'rt-1' }],
      ['at-2', { access: 'at-2', refresh: 'rt-2' }],
    ]);
    expect(tokens.calls.map((c) => c.get('refresh_token'))).toEqual(['rt-0', 'rt-1']);
    expect(grant.spentPresented).toEqual([]);
  });
});
