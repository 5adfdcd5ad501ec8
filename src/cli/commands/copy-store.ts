// `herald copy-store`: move an embedded SQLite store to PostgreSQL.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.js';
import { openStore } from '../../app/store.js';
import { SecretBox } from '../../services/secret-box.js';
import { copyStore } from '../../services/store-copy.js';
import { parse, UsageError, type Command } from '../command.js';

export const copyStoreCommand: Command = {
  name: 'copy-store',
  summary: 'Copy an embedded store (accounts, endpoints, secrets, unfinished work) into PostgreSQL',
  help: `Usage: herald copy-store --data-dir DIR --to postgres://user@host/db

Copies the embedded SQLite store of DIR into an empty PostgreSQL database: accounts and their API
keys, endpoints with their encrypted secrets, OAuth tokens, and every event that still has
unfinished deliveries (pending, held, failed), with their attempt counters. Delivered history and
attempt logs stay behind. Stop the embedded server first (while it runs, this exits with 1).

The copy is one transaction: if anything fails, the database is left as empty as it was, and the
same command can simply run again.

Secrets stay encrypted with the same master key: start the PostgreSQL processes with
HERALD_MASTER_KEY set to the key of DIR/master.key (this command prints what to do).

Options:
  --data-dir DIR     the embedded store's data dir (default ./.herald)
  --from PATH        or the SQLite file itself
  --to URL           the PostgreSQL database (schema migrated first; must hold no accounts)`,
  async run(args, io) {
    const { values } = parse(args, {
      'data-dir': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    });
    if (!values.to || !/^postgres(ql)?:\/\//.test(values.to))
      throw new UsageError('--to must be a postgres:// URL');
    const dataDir = values['data-dir'] ?? io.env.HERALD_DATA_DIR ?? './.herald';
    const path = values.from ?? join(dataDir, 'herald.db');
    if (!existsSync(path)) throw new UsageError(`No embedded store at ${path}`);
    const lock = join(dataDir, 'herald.pid');
    if (!values.from && existsSync(lock)) {
      const pid = Number(readFileSync(lock, 'utf8').trim());
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
      // Not a usage mistake (exit code 2): the command was right, the moment was not.
      if (alive) throw new Error(`A Herald (pid ${pid}) is using ${dataDir}; stop it first`);
    }
    const source = openStore(loadConfig({}, { database: path }));
    const target = openStore(loadConfig({}, { database: values.to }));
    try {
      await source.migrate();
      await target.migrate();
      const keyFile = join(dataDir, 'master.key');
      const check = await source.getSetting('master_key_check');
      const key =
        io.env.HERALD_MASTER_KEY ??
        (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
      if (check && key) {
        try {
          SecretBox.fromText(key).open(check);
        } catch {
          throw new Error(
            'The master key (HERALD_MASTER_KEY or master.key) does not open this store; the secrets could not be read after the move',
          );
        }
      }
      const report = await copyStore(source, target, (r) =>
        io.err(`  … ${r.events} events, ${r.deliveries} deliveries`),
      );
      io.out(`Copied ${source.description} to ${target.description}:`);
      io.out(
        `  ${report.accounts} accounts, ${report.apiKeys} API keys, ${report.endpoints} endpoints, ${report.tokens} OAuth token records`,
      );
      io.out(`  ${report.events} events with ${report.deliveries} unfinished deliveries`);
      io.out('');
      io.out('Start the PostgreSQL processes with the same master key:');
      io.out(
        io.env.HERALD_MASTER_KEY
          ? '  HERALD_MASTER_KEY (as set now)'
          : `  HERALD_MASTER_KEY=$(cat ${keyFile})`,
      );
      return 0;
    } finally {
      await source.close();
      await target.close();
    }
  },
};
