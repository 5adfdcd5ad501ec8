// The resource commands as a script or a person uses them, against a real `herald serve`: found
// from its data dir alone (the URL it writes there, its generated key), endpoints created,
// changed, disabled, enabled and deleted, events and deliveries found by package, tables that fit
// 100 columns without colour codes when the output is not a terminal.

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/herald.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { runCli, startServer, type ServerProcess } from '../helpers/process.js';

describe('herald endpoints, events, deliveries, operational-events', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-resources-'));
  let server: ServerProcess;
  let listener: Listener;
  // Only the data dir: no HERALD_URL, no key. The commands find both there.
  const herald = (...args: string[]) =>
    runCli([...args, '--data-dir', dataDir], { HERALD_URL: '', HERALD_API_KEY: '' });
  const json = async (...args: string[]) => {
    const result = await herald(...args, '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  };

  beforeAll(async () => {
    listener = await startListener();
    server = await startServer(['--port', '0', '--data-dir', dataDir, '--allow-private-network'], {
      HERALD_API_KEY: '',
      HERALD_LOG_LEVEL: 'warn',
      HERALD_RETRY_SCHEDULE: '200ms',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await listener?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds the server from its data dir: the URL file, mode 0600, gone after a stop', async () => {
    const file = join(dataDir, 'herald.url');
    expect(readFileSync(file, 'utf8').trim()).toBe(server.url);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const other = mkdtempSync(join(tmpdir(), 'herald-resources-other-'));
    try {
      const second = await startServer(['--port', '0', '--data-dir', other], {
        HERALD_API_KEY: '',
        HERALD_LOG_LEVEL: 'warn',
      });
      expect(readFileSync(join(other, 'herald.url'), 'utf8').trim()).toBe(second.url);
      expect(await second.stop()).toBe(0);
      expect(() => statSync(join(other, 'herald.url'))).toThrow(/ENOENT/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('creates an endpoint printing only its id, then disables, enables and deletes it', async () => {
    const created = await herald(
      'endpoints',
      'create',
      '--url',
      `${listener.url}/one`,
      '--events',
      'PACKAGE_COMPLETE,DOCUMENT_SIGNED',
      '--key',
      'resource-key-1',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^ep_\w+\n$/);
    const id = created.stdout.trim();
    expect(created.stderr).toMatch(/Signing secret of ep_\w+ \(shown once/);
    expect(created.stderr).toMatch(/whsec_/);
    const shown = await json('endpoints', 'show', id);
    expect(shown).toMatchObject({ id, state: 'enabled', auth: { type: 'BASIC' } });
    expect(shown.events).toEqual(['PACKAGE_COMPLETE', 'DOCUMENT_SIGNED']);

    const disabled = await herald('endpoints', 'disable', id);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stdout).toBe(`${id} is disabled; new deliveries are held\n`);
    await herald('events', 'publish', '--name', 'PACKAGE_COMPLETE', '--package-id', 'pkg-held');
    const held = await json('deliveries', 'list', '--package', 'pkg-held');
    expect(held.data.map((d: any) => [d.endpointId, d.status])).toEqual([[id, 'held']]);

    const enabled = await herald('endpoints', 'enable', id);
    expect(enabled.stdout).toBe(`${id} is enabled; held deliveries go out now\n`);
    await listener.waitFor(1);
    expect(listener.received[0]!.headers.authorization).toBe('Basic resource-key-1');
    const ops = await herald('operational-events', 'list');
    expect(ops.code, ops.stderr).toBe(0);
    expect(ops.stdout).toMatch(/^Type\s+Endpoint\s+When\s+Details/);
    expect(ops.stdout).toMatch(new RegExp(`endpoint\\.enabled\\s+${id}`));

    const deleted = await herald('endpoints', 'delete', id);
    expect(deleted.stdout).toBe(`${id} deleted\n`);
    const gone = await herald('endpoints', 'show', id);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/HTTP 404: Endpoint .* was not found/);
  });

  it('updates an endpoint: events, auth from a file, signing turned on shows its secret', async () => {
    const created = await json(
      'endpoints',
      'create',
      '--url',
      `${listener.url}/two`,
      '--events',
      'PACKAGE_CREATE',
      '--unsigned',
      '--header',
      'X-Team=payments',
    );
    expect(created.signingSecret).toBeUndefined();
    // Custom header values are secrets bound to the callback URL: shown masked.
    expect(created.customHeaders).toEqual([{ key: 'X-Team', value: '****' }]);
    const authFile = join(dataDir, 'auth.json');
    writeFileSync(authFile, JSON.stringify({ type: 'BASIC', key: 'from-a-file' }));
    const updated = await herald(
      'endpoints',
      'update',
      created.id,
      '--events',
      '*',
      '--auth-file',
      authFile,
      '--signing',
      'on',
    );
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(/^Endpoint ep_\w+\n {2}URL {12}http:\/\/127\.0\.0\.1/);
    expect(updated.stdout).toMatch(/Auth {11}BASIC ok, key \*{4}/);
    expect(updated.stdout).toMatch(/Signing {8}on \(1 secret\)/);
    expect(updated.stderr).toMatch(/whsec_/);
    expect(updated.stdout).not.toContain('from-a-file');
    const after = await json('endpoints', 'show', created.id);
    expect(after).toMatchObject({ events: ['*'], signing: { enabled: true, secrets: 1 } });

    const nothing = await herald('endpoints', 'update', created.id);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/Nothing to change/);
    const both = await herald(
      'endpoints',
      'update',
      created.id,
      '--key',
      'a',
      '--auth-file',
      authFile,
    );
    expect(both.code).toBe(2);
    writeFileSync(authFile, '{"type": "BASIC", "key": "secret-in-broken-json"');
    const broken = await herald('endpoints', 'update', created.id, '--auth-file', authFile);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/is not a JSON object/);
    expect(broken.stderr).not.toContain('secret-in-broken-json');
    const refused = await herald('endpoints', 'create', '--url', 'not a url', '--events', '*');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/HTTP 400/);
  });

  it('lists and shows events by package and name; deliveries by package, event and time', async () => {
    const ep = await json('endpoints', 'create', '--url', `${listener.url}/three`, '--events', '*');
    const ids: string[] = [];
    for (const [name, pkg] of [
      ['PACKAGE_CREATE', 'pkg-list'],
      ['DOCUMENT_SIGNED', 'pkg-list'],
      ['PACKAGE_COMPLETE', 'pkg-other'],
    ]) {
      ids.push(
        (await json('events', 'publish', '--name', name!, '--package-id', pkg!)).id as string,
      );
    }
    const byPackage = await json('events', 'list', '--package', 'pkg-list');
    expect(byPackage.data.map((e: any) => e.id)).toEqual([ids[1], ids[0]]);
    const byName = await json('events', 'list', '--name', 'PACKAGE_COMPLETE');
    expect(byName.data.map((e: any) => e.id)).toContain(ids[2]);
    expect(byName.data.every((e: any) => e.name === 'PACKAGE_COMPLETE')).toBe(true);
    const table = await herald('events', 'list', '--package', 'pkg-list');
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+Event\s+Package\s+Received$/);
    expect(table.stdout).toContain(ids[0]);
    const paged = await herald('events', 'list', '--limit', '1');
    expect(paged.stdout).toMatch(/more: --cursor evt_\w+/);

    const shown = await herald('events', 'show', ids[0]!);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^Event evt_\w+\n {2}Name {6}PACKAGE_CREATE/);
    expect(shown.stdout).toMatch(/Payload +\{\n +"@class": "com\.silanis/);
    expect(shown.stdout).toMatch(/ID\s+Event\s+Status\s+Attempts\s+Next attempt\s+Last error/);

    await eventually(async () => {
      const page = await json('deliveries', 'list', '--endpoint', ep.id, '--status', 'succeeded');
      return page.data.length === 3 ? true : undefined;
    });
    const byEvent = await json(
      'deliveries',
      'list',
      '--endpoint',
      ep.id,
      '--package',
      'pkg-list',
      '--event',
      'DOCUMENT_SIGNED',
    );
    expect(byEvent.data.map((d: any) => d.eventId)).toEqual([ids[1]]);
    const before = await json(
      'deliveries',
      'list',
      '--endpoint',
      ep.id,
      '--until',
      '2000-01-01T00:00:00Z',
    );
    expect(before.data).toEqual([]);
    const human = await herald('deliveries', 'list', '--endpoint', ep.id);
    expect(human.stdout.split('\n')[0]).toMatch(
      /^ID\s+Event\s+Status\s+Attempts\s+Next attempt\s+Last error$/,
    );
    const delivery = byEvent.data[0].id as string;
    const detail = await herald('deliveries', 'show', delivery);
    expect(detail.stdout).toMatch(/Status {8}succeeded/);
    expect(detail.stdout).toMatch(/#\s+Started\s+Took\s+Status\s+Outcome/);
    const bad = await herald('events', 'list', '--since', 'yesterday');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/since must be an ISO-8601 date-time/);
  });

  it('fits its tables in 100 columns and writes no colour codes when not on a terminal', async () => {
    await json(
      'endpoints',
      'create',
      '--url',
      `${listener.url}/${'very-long-path-segment/'.repeat(6)}`,
      '--events',
      'PACKAGE_CREATE,PACKAGE_ACTIVATE,PACKAGE_DEACTIVATE,PACKAGE_READY_FOR_COMPLETE,PACKAGE_COMPLETE',
    );
    const a = await json(
      'endpoints',
      'create',
      '--url',
      'http://127.0.0.1:9/refused',
      '--events',
      '*',
    );
    await herald('events', 'publish', '--name', 'PACKAGE_READY_FOR_COMPLETE', '--package-id', 'w');
    await eventually(async () => {
      const page = await json('deliveries', 'list', '--endpoint', a.id);
      return page.data.some((d: any) => d.lastError) ? true : undefined;
    });
    for (const args of [
      ['endpoints', 'list'],
      ['deliveries', 'list'],
      ['events', 'list'],
      ['operational-events', 'list'],
    ]) {
      const result = await herald(...args);
      expect(result.code, result.stderr).toBe(0);
      for (const line of result.stdout.split('\n')) {
        expect(line.length, `${args.join(' ')}: ${line}`).toBeLessThanOrEqual(100);
      }
      expect(result.stdout).not.toContain('\u001b[');
    }
    const list = await herald('endpoints', 'list');
    expect(list.stdout).toContain('…');
  });
});
