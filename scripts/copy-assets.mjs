// Copies the non-TypeScript files the compiled server needs into dist/: SQL migrations, the
// console's own static files, and the console's vendor files from node_modules (htmx, uPlot),
// so that the built server serves them without reaching for node_modules or the network.
//
// Two builds may run at once: `npm start` builds, and the first `npx herald ...` in a clone
// builds too (npm runs `prepare` when it links the project for npx). So a file already in
// place is left alone, and a new one appears whole, by rename, never half-written or missing.
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

const COPIED_FOLDERS = new Set(['migrations', 'assets']);

function copyFolders(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    if (COPIED_FOLDERS.has(entry)) copyTree(path, join('dist', path));
    else copyFolders(path);
  }
}
copyFolders('src');

// The same list as VENDOR_FILES in src/console/assets.ts (a test keeps them in step).
const VENDOR_FILES = {
  'htmx.min.js': 'htmx.org/dist/htmx.min.js',
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};
const vendor = join('dist', 'src', 'console', 'assets', 'vendor');
mkdirSync(vendor, { recursive: true });
const require = createRequire(import.meta.url);
for (const [name, module] of Object.entries(VENDOR_FILES)) {
  copyFile(require.resolve(module), join(vendor, name));
}
