// The shape of src/ (docs/architecture.md, "Layers"): every file in a layer, no import from a
// layer above, no import circle, no file over 600 lines. `npm run lint` checks the layers too
// (rule herald/layers); this walks the same table over the whole import graph.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, layerOf, sourceFiles, upwardImport } from '../../scripts/layers.mjs';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const MAX_LINES = 600;

const files = sourceFiles(SRC);
const name = (file: string) => relative(SRC, file).split('\\').join('/');

/** Value imports between files of src/ (type-only imports are erased, so they make no circle). */
function valueGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = importsOf(file)
      .filter((i) => !i.typeOnly && i.resolved !== undefined)
      .map((i) => i.resolved!);
    graph.set(file, deps);
  }
  return graph;
}

/** Strongly connected components of more than one file, or of one file importing itself. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the architecture of src/', () => {
  it('puts every file in a layer', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files.map(name).filter((f) => layerOf(f) === undefined)).toEqual([]);
  });

  it('never imports from a layer above, type-only imports included', () => {
    const upward = files.flatMap((file) =>
      importsOf(file).flatMap((i) => {
        const problem = upwardImport(SRC, file, i.specifier);
        return problem ? [`${name(file)}: ${problem}`] : [];
      }),
    );
    expect(upward).toEqual([]);
  });

  it('has no import circle', () => {
    expect(circles(valueGraph()).map((c) => c.map(name).sort().join(' <-> '))).toEqual([]);
  });

  it(`keeps every file at ${MAX_LINES} lines or fewer`, () => {
    const long = files
      .map((file) => ({ file: name(file), lines: readFileSync(file, 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});

describe('circles()', () => {
  it.each([
    { graph: { a: ['b'], b: ['c'], c: [] }, expected: [] },
    { graph: { a: ['b'], b: ['a'] }, expected: [['a', 'b']] },
    { graph: { a: ['b'], b: ['c'], c: ['a'], d: ['a'] }, expected: [['a', 'b', 'c']] },
    { graph: { a: ['a'] }, expected: [['a']] },
    {
      graph: { a: ['b'], b: ['a'], c: ['d'], d: ['c'] },
      expected: [
        ['a', 'b'],
        ['c', 'd'],
      ],
    },
  ])('finds $expected in $graph', ({ graph, expected }) => {
    const found = circles(new Map(Object.entries(graph))).map((c) => c.sort());
    expect(found.sort()).toEqual(expected);
  });
});

describe('the layer table', () => {
  it.each([
    ['errors.ts', 'kernel'],
    ['domain/addresses.ts', 'kernel'],
    ['config/settings.ts', 'settings and observability'],
    ['store/port.ts', 'store port and sockets'],
    ['store/sqlite/sqlite-store.ts', 'store adapters'],
    ['store/postgres/migrations/0001_init.sql', 'store adapters'],
    ['console/pages/connect.tsx', 'driving adapters'],
    ['app/store.ts', 'start-up'],
    ['main.ts', 'composition root'],
    ['cli/commands/serve.ts', 'process entry'],
    ['mainframe.ts', undefined],
    ['elsewhere/x.ts', undefined],
  ])('puts %s in %s', (path, layer) => {
    expect(layerOf(path)?.name).toBe(layer);
  });

  it.each([
    ['domain/retry.ts', '../main.js', true],
    ['oauth/token-manager.ts', '../services/secret-box.js', true],
    ['services/ingest.ts', '../store/sqlite/sqlite-store.js', true],
    ['app/store.ts', '../store/sqlite/sqlite-store.js', false],
    ['cli/commands/serve.ts', '../../main.js', false],
    ['services/ingest.ts', '../queue/work-signal.js', false],
    ['api/app.ts', '../console/app.js', false],
    ['domain/retry.ts', 'zod', false],
  ])('%s importing %s goes up a layer: %s', (from, specifier, up) => {
    expect(upwardImport(SRC, `${SRC}/${from}`, specifier) !== undefined).toBe(up);
  });
});
