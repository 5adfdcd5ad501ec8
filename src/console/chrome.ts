// What the page frame needs for a signed-in request: the session, the accounts to show (all of
// them for an operator, who picks one; the account's own otherwise) and the one-time message.

import type { ConsoleContext, ConsoleDeps } from './context.js';
import type { Chrome } from './layout.js';

export async function chromeOf(c: ConsoleContext, deps: ConsoleDeps): Promise<Chrome> {
  const session = c.get('session');
  const accounts =
    session.principal === 'admin'
      ? await deps.services.accounts.listAccounts()
      : session.accountId
        ? [await deps.services.accounts.getAccount(session.accountId)]
        : [];
  return { assets: deps.assets, session, accounts, flash: c.get('flash') };
}
