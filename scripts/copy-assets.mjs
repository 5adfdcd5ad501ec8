// Copies the non-TypeScript files the compiled server needs (SQL migrations) into dist/.
//
// Two builds may run at once: `npm start` builds, and the first `npx herald ...` in a clone
// builds too (npm runs `prepare` when it links the project for npx). So a file already in
// place is left alone, and a new one appears whole, by rename, never half-written or missing.
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function copyFile(from, to) {
  const content = readFileSync(from);
  try {
    if (readFileSync(to).equals(content)) return;
  } catch {
    // Not there yet.
  }
  const temporary = `${to}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, to);
}

function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    const path = join(from, entry);
    if (statSync(path).isDirectory()) copyTree(path, join(to, entry));
    else copyFile(path, join(to, entry));
  }
}

function copyFolders(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    if (entry === 'migrations') copyTree(path, join('dist', path));
    else copyFolders(path);
  }
}
copyFolders('src');
