// What the parts of the store contract share: small helpers over the port, run against the
// store of the test that is running (each part passes how to get it).

import { expect } from 'vitest';
import type { AccountId, DeliveryId } from '../../src/domain/ids.js';
import type {
  AccountRecord,
  DeliveryRecord,
  DeliveryResult,
  EndpointRow,
  Store,
} from '../../src/store/port.js';
import {
  T0,
  aClaim,
  anAccount,
  anEndpoint,
  anIngestBatch,
  settleDeliveries,
  type BatchSpec,
  type BuiltBatch,
} from '../helpers/store.js';

export const byId = <T extends { readonly id: string }>(items: readonly T[]): T[] =>
  [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
export const idsOf = (items: readonly { readonly id: string }[]): string[] =>
  items.map((i) => i.id);
export const sortedIds = (items: readonly { readonly id: string }[]): string[] =>
  idsOf(items).sort();

/**
 * The store of the test that is running, as a variable: it reaches that store whenever it is
 * used, so a part's tests (registered once) use it as if each test had set it.
 */
export function runningStore(current: () => Store): Store {
  return new Proxy({} as Store, {
    get(_, key) {
      const running = current();
      const value: unknown = Reflect.get(running, key, running);
      return typeof value === 'function' ? value.bind(running) : value;
    },
  });
}

/** Helpers over `store` (a part's runningStore). */
export function contractHelpers(store: Store) {
  async function anAccountWithEndpoint(
    now: number = T0,
    endpoint: Partial<EndpointRow> = {},
  ): Promise<{ account: AccountRecord; endpoint: EndpointRow }> {
    const account = anAccount(now);
    await store.insertAccount(account);
    const row = anEndpoint(account.id, now, endpoint);
    await store.insertEndpoint(row);
    return { account, endpoint: row };
  }

  async function addEndpoint(
    accountId: AccountId,
    now: number = T0,
    overrides: Partial<EndpointRow> = {},
  ): Promise<EndpointRow> {
    const row = anEndpoint(accountId, now, overrides);
    await store.insertEndpoint(row);
    return row;
  }

  async function ingest(spec: BatchSpec): Promise<BuiltBatch> {
    const built = anIngestBatch(spec);
    expect(await store.ingest([built.batch])).toEqual([{ kind: 'inserted' }]);
    return built;
  }

  /** Ingests one event to one endpoint and returns its delivery id. */
  async function oneDelivery(spec: BatchSpec): Promise<DeliveryId> {
    const built = await ingest(spec);
    expect(built.ids).toHaveLength(1);
    return built.ids[0]!;
  }

  async function delivery(accountId: AccountId, id: DeliveryId): Promise<DeliveryRecord> {
    const found = await store.getDelivery(accountId, id);
    if (!found) throw new Error(`delivery ${id} not found`);
    return found;
  }

  async function claimedIds(now: number, owner = 'worker-1', limit = 100): Promise<string[]> {
    return idsOf(await store.claimDeliveries(aClaim(now, owner, { limit })));
  }

  const settle = (
    ids: readonly DeliveryId[],
    status: DeliveryResult['status'],
    at: number,
    overrides: Partial<DeliveryResult> = {},
  ): Promise<void> => settleDeliveries(store, ids, status, at, overrides);

  return {
    anAccountWithEndpoint,
    addEndpoint,
    ingest,
    oneDelivery,
    delivery,
    claimedIds,
    settle,
  };
}
