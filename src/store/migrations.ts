// Numbered SQL migrations (`NNNN_name.sql`), read from an adapter's migrations folder.
// The build copies the folders next to the compiled adapters (scripts/copy-assets.mjs).

import { readdirSync, readFileSync } from 'node:fs';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function loadMigrations(folder: URL): Migration[] {
  const files = readdirSync(folder)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  return files.map((file, index) => {
    const version = Number(file.slice(0, 4));
    if (version !== index + 1) {
      throw new Error(`Migration ${file} is out of sequence: expected number ${index + 1}`);
    }
    return { version, name: file.slice(5, -4), sql: readFileSync(new URL(file, folder), 'utf8') };
  });
}
