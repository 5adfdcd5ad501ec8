// The packages as a new user gets them: the server's and the client's `npm pack` tarballs,
// unpacked in empty folders. The server runs from its tarball alone (the dependencies come from
// this clone's node_modules, as `npm install` would bring them); the client imports in plain
// Node ESM and type-checks with no dependency and no Node types.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Packs (from the dist/ that `npm test` built) into `into`; returns the tarball's file list. */
function pack(into: string, workspace?: string): { file: string; files: string[] } {
  const out = execFileSync(
    NPM,
    [
      'pack',
      '--ignore-scripts',
      '--json',
      '--pack-destination',
      into,
      ...(workspace ? ['-w', workspace] : []),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const [result] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { file: join(into, result!.filename), files: result!.files.map((f) => f.path) };
}

function unpack(tarball: string, into: string): void {
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', into, '--strip-components=1']);
}

describe('package tarballs', () => {
  const work = mkdtempSync(join(tmpdir(), 'herald-pack-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the server tarball holds what it runs on, and serves /healthz from an empty folder', async () => {
    const { file, files } = pack(work);
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/herald.js',
        'package.json',
        'README.md',
        'scripts/prepare.mjs',
        'dist/src/cli/index.js',
        'dist/src/main.js',
        'dist/src/store/sqlite/migrations/0001_init.sql',
        'dist/src/store/postgres/migrations/0001_init.sql',
        'dist/src/store/sqlite/store-thread.js',
        'dist/packages/client/src/index.js',
        'dist/packages/client/src/index.d.ts',
      ]),
    );
    // Only what runs: no sources, tests, benchmarks or build leftovers.
    expect(
      files.filter((f) => /^(src|tests|bench)\/|^dist\/(bench|tests)\/|\.map$|tsbuildinfo/.test(f)),
    ).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).not.toContain('@herald/client');

    const app = join(work, 'server');
    unpack(file, app);
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    // `prepare` in an installed package (no sources, no compiler) builds nothing and succeeds.
    execFileSync(process.execPath, ['scripts/prepare.mjs'], { cwd: app });

    const child = spawn(
      process.execPath,
      [join(app, 'bin/herald.js'), 'serve', '--port', '0', '--data-dir', join(work, 'data')],
      { cwd: work, env: { ...process.env, HERALD_API_KEY: '', HERALD_LOG_LEVEL: 'warn' } },
    );
    try {
      let out = '';
      const url = await new Promise<string>((found, failed) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const match = /listening on (http:\/\/\S+)/.exec(out);
          if (match) found(match[1]!);
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('exit', (code) => failed(new Error(`herald exited (${code}):\n${out}`)));
      });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
    } finally {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('the client tarball has no dependency, imports in plain Node ESM and type-checks alone', async () => {
    const { file, files } = pack(work, 'packages/client');
    expect(files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'README.md', 'package.json']),
    );
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    const app = join(work, 'client-app');
    unpack(file, join(app, 'node_modules/@herald/client'));
    const manifest = JSON.parse(
      readFileSync(join(app, 'node_modules/@herald/client/package.json'), 'utf8'),
    );
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.type).toBe('module');

    writeFileSync(join(app, 'package.json'), '{"type":"module","private":true}');
    writeFileSync(
      join(app, 'check.mjs'),
      `import { HeraldClient, verifyCallback, signatureHeader } from '@herald/client';
const secret = 'whsec_' + btoa('0123456789abcdef0123456789abcdef');
const body = '{"name":"PACKAGE_COMPLETE","packageId":"p"}';
const ts = Math.floor(Date.now() / 1000);
const headers = { 'webhook-id': 'm1', 'webhook-timestamp': String(ts),
  'webhook-signature': await signatureHeader([secret], 'm1', ts, body) };
const event = await verifyCallback({ headers, body }, { signingSecrets: [secret] });
console.log(typeof HeraldClient, event.name);
`,
    );
    const ran = execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' });
    expect(ran.trim()).toBe('function PACKAGE_COMPLETE');

    // The declarations alone, in a project with no @types/node: what a Deno or Workers user has.
    writeFileSync(
      join(app, 'check.ts'),
      `import { HeraldClient, verifyCallback, type CallbackEvent } from '@herald/client';
const client = new HeraldClient({ url: 'https://herald.example.com', apiKey: 'k' });
const id: Promise<string> = client.publish({ name: 'PACKAGE_COMPLETE', packageId: 'p' });
const event: Promise<CallbackEvent> = verifyCallback({ headers: new Headers(), body: '' }, { callbackKey: 'k' });
export { id, event };
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], {
      encoding: 'utf8',
    });
  });
});
