// The layers of src/ (docs/architecture.md, "Layers"), lowest first. A file may import from its
// own layer and from the layers below it, never from one above, type-only imports included (a
// type from above is still a dependency on the layer above: the lower layer names the shape it
// needs instead, as oauth/sealer.ts does). Read by eslint.config.js (rule `herald/layers`, in
// `npm run lint`) and tests/unit/architecture.test.ts (circles, sizes, and this rule again).
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * Each layer's folders (ending in `/`) and files (without their extension), relative to src/.
 * The longest match wins, so store/sqlite/ is an adapter while the rest of store/ is the port.
 */
export const LAYERS = [
  { name: 'kernel', paths: ['errors', 'version', 'domain/'] },
  { name: 'settings and observability', paths: ['config/', 'observability/'] },
  { name: 'store port and sockets', paths: ['store/', 'net/'] },
  { name: 'mechanisms', paths: ['oauth/', 'delivery/'] },
  { name: 'queue', paths: ['queue/'] },
  { name: 'services', paths: ['services/'] },
  { name: 'driving adapters', paths: ['api/', 'console/', 'sandbox/'] },
  { name: 'store adapters', paths: ['store/sqlite/', 'store/postgres/'] },
  { name: 'start-up', paths: ['app/'] },
  { name: 'composition root', paths: ['main'] },
  { name: 'process entry', paths: ['cli/'] },
];

/**
 * The layer of a path relative to src/ (either separator, with or without its extension):
 * `{ rank, name }`, or undefined for a path in no layer.
 */
export function layerOf(path) {
  const bare = path
    .split(sep)
    .join('/')
    .replace(/\.(tsx?|jsx?|mjs)$/, '');
  let best;
  let bestLength = -1;
  LAYERS.forEach((layer, rank) => {
    for (const p of layer.paths) {
      const hit = p.endsWith('/') ? bare.startsWith(p) : bare === p;
      if (hit && p.length > bestLength) {
        best = { rank, name: layer.name };
        bestLength = p.length;
      }
    }
  });
  return best;
}

/**
 * The layer an import reaches, for a relative specifier in a file under `srcDir`; undefined
 * for a package or a file outside src/.
 */
export function layerOfImport(srcDir, fromFile, specifier) {
  if (!specifier.startsWith('.')) return undefined;
  const target = relative(srcDir, resolve(dirname(fromFile), specifier));
  if (target.startsWith('..')) return undefined;
  return layerOf(target);
}

/** Why `fromFile` may not import `specifier`, or undefined when it may. */
export function upwardImport(srcDir, fromFile, specifier) {
  const from = layerOf(relative(srcDir, fromFile));
  const to = layerOfImport(srcDir, fromFile, specifier);
  if (!from || !to || to.rank <= from.rank) return undefined;
  return `${specifier} is in the ${to.name} layer, above ${from.name}: import only from the same layer or below (docs/architecture.md, Layers).`;
}

/** Every .ts and .tsx file under a folder, sorted. */
export function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

const IMPORT =
  /(?:import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

/** The imports of one file: `{ specifier, typeOnly, resolved }` (resolved: the .ts/.tsx file). */
export function importsOf(file) {
  const out = [];
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const specifier = m[2] ?? m[3] ?? m[4];
    let resolved;
    if (specifier.startsWith('.')) {
      const base = resolve(dirname(file), specifier).replace(/\.jsx?$/, '');
      resolved = ['.ts', '.tsx', '/index.ts'].map((ext) => base + ext).find((p) => existsSync(p));
    }
    out.push({ specifier, typeOnly: Boolean(m[1]), resolved });
  }
  return out;
}

/** The ESLint rule: no import (value or type-only) from a layer above the importing file's. */
export function layersRule(srcDir) {
  return {
    meta: { type: 'problem', schema: [] },
    create(context) {
      const check = (node) => {
        if (!node.source || typeof node.source.value !== 'string') return;
        const problem = upwardImport(srcDir, context.filename, node.source.value);
        if (problem) context.report({ node: node.source, message: problem });
      };
      return {
        ImportDeclaration: check,
        ExportNamedDeclaration: check,
        ExportAllDeclaration: check,
        ImportExpression: check,
      };
    },
  };
}
