// Moving an embedded store to PostgreSQL (or any store to another): accounts, API keys (hashes),
// endpoints with their sealed secrets, OAuth token records, and every event that still has
// unfinished deliveries (pending, delivering, held, failed) with its counters. Delivered history,
// attempt logs, idempotency keys and operational events stay behind.

import type { Store } from '../store/port.js';

/** Settings that make the copy the same deployment: the default account, the master key check. */
const SETTINGS = ['default_account_id', 'master_key_check'];
const PAGE = 500;

export interface CopyReport {
  accounts: number;
  apiKeys: number;
  endpoints: number;
  tokens: number;
  events: number;
  deliveries: number;
}

export async function copyStore(
  from: Store,
  to: Store,
  progress: (report: CopyReport) => void = () => {},
): Promise<CopyReport> {
  if ((await to.listAccounts()).length > 0) {
    throw new Error(`${to.description} already holds accounts; copy into an empty database`);
  }
  const report: CopyReport = {
    accounts: 0,
    apiKeys: 0,
    endpoints: 0,
    tokens: 0,
    events: 0,
    deliveries: 0,
  };
  for (const key of SETTINGS) {
    const value = await from.getSetting(key);
    if (value !== undefined) await to.initSetting(key, value);
  }
  for (const account of await from.listAccounts()) {
    await to.insertAccount(account);
    report.accounts++;
    for (const key of await from.listApiKeys(account.id)) {
      await to.insertApiKey(key);
      report.apiKeys++;
    }
    for (const endpoint of await from.listEndpoints(account.id)) {
      await to.insertEndpoint(endpoint);
      report.endpoints++;
      const token = await from.getToken(endpoint.id);
      if (token) {
        await to.importToken(token);
        report.tokens++;
      }
    }
  }
  let after: string | null = null;
  for (;;) {
    const items = await from.exportWork(after, PAGE);
    if (items.length === 0) break;
    await to.importWork(items);
    report.events += items.length;
    report.deliveries += items.reduce((n, i) => n + i.deliveries.length, 0);
    after = items.at(-1)!.event.id;
    progress(report);
  }
  return report;
}
