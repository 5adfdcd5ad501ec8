// The embedded store's files are its user's alone (0600): they hold every event, attempt log and
// sealed secret. SQLite creates a database file 0644 (less the umask), and its -wal, -shm and
// -journal files with the mode of the database file, so the database file is made 0600 before
// SQLite opens it; files an earlier run left (or someone loosened) are set to 0600 too.

import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';

const COMPANIONS = ['', '-wal', '-shm', '-journal'];

export function privateDatabaseFiles(path: string): void {
  if (path === ':memory:' || path === '') return;
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const suffix of COMPANIONS) {
    if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
  }
}
