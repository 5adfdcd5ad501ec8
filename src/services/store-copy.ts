// Moving an embedded store to PostgreSQL (or any store to another): accounts, API keys (hashes),
// endpoints with their sealed secrets, OAuth token records, and every event that still has
// unfinished deliveries (pending, delivering, held, failed) with its counters. Delivered history,
// attempt logs, idempotency keys and operational events stay behind.

import type {
  AccountStore,
  ApiKeyRecord,
  CopyStore,
  EndpointRow,
  EndpointStore,
  SettingsStore,
  TokenRecord,
  TokenStore,
} from '../store/port.js';

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

/**
 * Copies `from` into `to` in one transaction of `to`: a failure (of a write, or of reading the
 * source) leaves `to` as empty as it was, so the copy can simply run again.
 */
export async function copyStore(
  from: SettingsStore & AccountStore & EndpointStore & TokenStore & CopyStore,
  to: CopyStore,
  progress: (report: CopyReport) => void = () => {},
): Promise<CopyReport> {
  const report: CopyReport = {
    accounts: 0,
    apiKeys: 0,
    endpoints: 0,
    tokens: 0,
    events: 0,
    deliveries: 0,
  };
  const settings: Array<[string, string]> = [];
  for (const key of SETTINGS) {
    const value = await from.getSetting(key);
    if (value !== undefined) settings.push([key, value]);
  }
  const accounts = await from.listAccounts();
  const apiKeys: ApiKeyRecord[] = [];
  const endpoints: EndpointRow[] = [];
  const tokens: TokenRecord[] = [];
  for (const account of accounts) {
    apiKeys.push(...(await from.listApiKeys(account.id)));
    for (const endpoint of await from.listEndpoints(account.id)) {
      endpoints.push(endpoint);
      const token = await from.getToken(endpoint.id);
      if (token) tokens.push(token);
    }
  }
  let after: string | null = null;
  await to.importCopy({
    settings,
    accounts,
    apiKeys,
    endpoints,
    tokens,
    nextWork: async () => {
      const items = await from.exportWork(after, PAGE);
      if (items.length > 0) {
        after = items.at(-1)!.event.id;
        report.events += items.length;
        report.deliveries += items.reduce((n, i) => n + i.deliveries.length, 0);
        progress(report);
      }
      return items;
    },
  });
  report.accounts = accounts.length;
  report.apiKeys = apiKeys.length;
  report.endpoints = endpoints.length;
  report.tokens = tokens.length;
  return report;
}
