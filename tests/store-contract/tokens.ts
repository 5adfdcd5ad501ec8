// The store contract, tokens part (TokenStore): the generation compare-and-set of token rows and
// the refresh lock. Registered by storeContract (contract.ts) on every adapter.

import { beforeEach, describe, expect, it } from 'vitest';
import type { EndpointId } from '../../src/domain/ids.js';
import type { Store, TokenRecord } from '../../src/store/port.js';
import { T0 } from '../helpers/store.js';
import { contractHelpers, runningStore } from './helpers.js';

export function tokensContract(current: () => Store): void {
  const store = runningStore(current);
  const { anAccountWithEndpoint } = contractHelpers(store);

  describe('OAuth token records', () => {
    const token = (
      endpointId: EndpointId,
      generation: number,
      extra: Partial<TokenRecord> = {},
    ): TokenRecord => ({
      endpointId,
      credentialKey: 'cred-1',
      generation,
      accessTokenCiphertext: `at-${generation}`,
      refreshTokenCiphertext: `rt-${generation}`,
      expiresAt: null,
      refreshAt: null,
      instanceUrl: 'https://org.example',
      deadReason: null,
      deadKey: null,
      updatedAt: T0 + generation,
      ...extra,
    });

    beforeEach(async () => {
      await store.migrate();
    });

    it('stores generation 1 on an empty slot, then only the next generation (compare-and-set)', async () => {
      const { endpoint } = await anAccountWithEndpoint();
      expect(await store.getToken(endpoint.id)).toBeUndefined();
      expect(await store.saveToken(token(endpoint.id, 2))).toBe(false);
      expect(await store.saveToken(token(endpoint.id, 1))).toBe(true);
      expect(await store.saveToken(token(endpoint.id, 1))).toBe(false);
      expect(await store.saveToken(token(endpoint.id, 3))).toBe(false);
      expect(await store.saveToken(token(endpoint.id, 2, { deadReason: 'gone' }))).toBe(true);
      expect(await store.getToken(endpoint.id)).toEqual(
        token(endpoint.id, 2, { deadReason: 'gone' }),
      );
    });

    it('grants the refresh lock to one owner until it expires or is released', async () => {
      const { endpoint } = await anAccountWithEndpoint();
      expect(await store.acquireTokenLock(endpoint.id, 'a', T0, T0 + 1000)).toBe(true);
      expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 500, T0 + 1500)).toBe(false);
      expect(await store.acquireTokenLock(endpoint.id, 'a', T0 + 500, T0 + 1500)).toBe(true);
      await store.releaseTokenLock(endpoint.id, 'b');
      expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 600, T0 + 1600)).toBe(false);
      expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 1501, T0 + 2500)).toBe(true);
      await store.releaseTokenLock(endpoint.id, 'b');
      expect(await store.acquireTokenLock(endpoint.id, 'c', T0 + 1600, T0 + 2600)).toBe(true);
    });

    it('keeps the lock held across a save, and the lock slot does not count as a generation', async () => {
      const { endpoint } = await anAccountWithEndpoint();
      expect(await store.acquireTokenLock(endpoint.id, 'a', T0, T0 + 1000)).toBe(true);
      expect(await store.saveToken(token(endpoint.id, 1))).toBe(true);
      expect(await store.acquireTokenLock(endpoint.id, 'b', T0 + 10, T0 + 1010)).toBe(false);
      expect((await store.getToken(endpoint.id))!.generation).toBe(1);
    });

    it('imports a record as is, and deletes it with its endpoint', async () => {
      const { account, endpoint } = await anAccountWithEndpoint();
      await store.saveToken(token(endpoint.id, 1));
      await store.importToken(token(endpoint.id, 7, { credentialKey: 'cred-2' }));
      expect(await store.getToken(endpoint.id)).toEqual(
        token(endpoint.id, 7, { credentialKey: 'cred-2' }),
      );
      expect(await store.deleteEndpoint(account.id, endpoint.id)).toBe(true);
      expect(await store.getToken(endpoint.id)).toBeUndefined();
    });
  });
}
