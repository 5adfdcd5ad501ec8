// Copies the non-TypeScript files the compiled server needs (SQL migrations) into dist/.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function copyFolders(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    if (entry === 'migrations') cpSync(path, join('dist', path), { recursive: true });
    else copyFolders(path);
  }
}
copyFolders('src');
