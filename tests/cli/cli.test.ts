// The CLI as a new user runs it: a real subprocess, a real data dir, a real listener.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/index.js';
import { startListener, type Listener } from '../helpers/listener.js';
import { eventually } from '../helpers/herald.js';
import { HERALD_BIN, runCli, startServer, type ServerProcess } from '../helpers/process.js';

describe('herald CLI', () => {
  let dataDir: string;
  let server: ServerProcess;
  let listener: Listener;
  const env = () => ({ HERALD_URL: server.url, HERALD_DATA_DIR: dataDir, HERALD_API_KEY: '' });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    listener = await startListener();
    server = await startServer(['--port', '0', '--data-dir', dataDir, '--allow-private-network'], {
      HERALD_API_KEY: '',
      HERALD_LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await listener?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the generated API key in the data dir (0600), not in its output when that is no terminal', async () => {
    const key = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
    expect(statSync(join(dataDir, 'api-key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    // Said where the key is, once the start-up lines are out (the request above came after them).
    expect(server.output()).toContain(`written to ${join(dataDir, 'api-key')}`);
    expect(server.output()).not.toContain(key);
  });

  it('shows the generated API key on stderr when it is a terminal, never on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-cli-tty-'));
    const stdout = join(dir, 'stdout.log');
    // `script` gives the server a terminal; its stdout goes to a file, its stderr stays on the
    // terminal, whose output `script` passes on to us.
    const command = `exec ${process.execPath} ${HERALD_BIN} serve --port 0 --data-dir ${join(dir, 'data')} >${stdout}`;
    const tty = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, HERALD_API_KEY: '', HERALD_LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let terminal = '';
    tty.stdout.on('data', (d: Buffer) => (terminal += d.toString()));
    const exited = new Promise((resolve) => tty.on('exit', resolve));
    try {
      const keyFile = join(dir, 'data', 'api-key');
      const key = await eventually(
        () => (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() || undefined : undefined),
        15_000,
        'the key file',
      );
      await eventually(
        () => (terminal.includes(key) ? true : undefined),
        15_000,
        'the key on the terminal',
      );
      await eventually(
        () => (readFileSync(stdout, 'utf8').includes('listening on') ? true : undefined),
        15_000,
        'the start-up lines on stdout',
      );
      expect(terminal).toMatch(/API key of the default account \(shown once/);
      expect(readFileSync(stdout, 'utf8')).not.toContain(key);
    } finally {
      tty.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('publishes events and lists, shows and retries deliveries', async () => {
    const key = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
    const reg = await fetch(`${server.url}/api/callback`, {
      method: 'POST',
      headers: { authorization: `Basic ${key}` },
      body: JSON.stringify({
        url: `${listener.url}/cb`,
        key: 'cli-callback-key',
        events: ['PACKAGE_COMPLETE'],
      }),
    });
    expect(reg.status).toBe(200);
    const published = await runCli(
      ['events', 'publish', '--name', 'PACKAGE_COMPLETE', '--package-id', 'cli-1', '--json'],
      env(),
    );
    expect(published.code, published.stderr).toBe(0);
    const { id } = JSON.parse(published.stdout) as { id: string };
    await listener.waitFor(1);
    const list = await runCli(['deliveries', 'list', '--json'], env());
    const page = JSON.parse(list.stdout) as {
      data: Array<{ id: string; eventId: string; status: string }>;
    };
    const delivery = page.data.find((d) => d.eventId === id)!;
    expect(delivery).toBeDefined();
    const table = await runCli(['deliveries', 'list'], env());
    expect(table.stdout).toMatch(/^ID\s+Event\s+Status\s+Attempts\s+Next attempt/);
    // The listener has the callback; its attempt is written with the result a moment later.
    const attempts = await eventually(async () => {
      const shown = await runCli(['deliveries', 'show', delivery.id, '--json'], env());
      const { status, attempts } = JSON.parse(shown.stdout) as { status: string; attempts: [] };
      return status === 'delivering' ? undefined : attempts;
    });
    expect(attempts).toHaveLength(1);
    const retried = await runCli(['deliveries', 'retry', delivery.id], env());
    expect(retried.code).toBe(0);
    await listener.waitFor(2);
    const endpoints = await runCli(['endpoints', 'list'], env());
    expect(endpoints.stdout).toContain('BASIC');
    expect(endpoints.stdout).not.toContain('cli-callback-key');
  });

  it('explains mistakes and unknown commands', async () => {
    const missing = await runCli(['events', 'publish', '--name', 'X'], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--package-id/);
    const noFile = await runCli(['events', 'publish', '--file', '/nonexistent/events.json'], env());
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/Cannot read --file \/nonexistent\/events.json: no such file/);
    const both = await runCli(
      ['events', 'publish', '--file', '-', '--name', 'X', '--package-id', 'p'],
      env(),
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/not both/);
    const brokenKey = await runCli(
      ['endpoints', 'list', '--api-key', 'hrd_secret-part\nrest'],
      env(),
    );
    expect(brokenKey.code).toBe(2);
    expect(brokenKey.stderr).toMatch(/characters a header cannot carry/);
    expect(brokenKey.stderr).not.toContain('secret-part');
    const badUrl = await runCli([
      'connect',
      'salesforce',
      '--no-browser',
      '--client-id',
      'X',
      '--print',
      '--token-url',
      'notaurl',
    ]);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/--token-url "notaurl" is not an http\(s\) URL/);
    const key = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
    const basic = await fetch(`${server.url}/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        url: `${listener.url}/basic`,
        events: ['PACKAGE_COMPLETE'],
        auth: { type: 'BASIC', key: 'basic-key-1234' },
      }),
    });
    const { id } = (await basic.json()) as { id: string };
    const notOauth = await runCli(
      ['connect', 'salesforce', '--no-browser', '--client-id', 'X', '--endpoint', id],
      env(),
    );
    expect(notOauth.code).toBe(2);
    expect(notOauth.stderr).toMatch(/does not use OAuth 2.0/);
    const group = await runCli(['deliveries']);
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/herald deliveries needs a subcommand:[\s\S]*deliveries list/);
    const groupHelp = await runCli(['deliveries', '--help']);
    expect(groupHelp.code).toBe(0);
    expect(groupHelp.stdout).toMatch(/deliveries retry/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    const bad = await runCli(['deliveries', 'list', '--status', 'lost'], env());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/status must be one of/);
  });

  it.each(COMMANDS.map((c) => c.name))('herald %s --help', async (name) => {
    const result = await runCli([...name.split(' '), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: herald/);
  });

  it('migrate reports the schema and is idempotent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-migrate-'));
    try {
      const first = await runCli(['migrate', '--data-dir', dir]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/applied 0001_init/);
      const second = await runCli(['migrate', '--data-dir', dir]);
      expect(second.stdout).toMatch(/up to date/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a second server on the same data dir', async () => {
    await expect(
      startServer(['--port', '0', '--data-dir', dataDir], { HERALD_API_KEY: '' }),
    ).rejects.toThrow(/Another Herald/);
  });

  it('exits with the reason when its port is taken, leaving nothing running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-port-'));
    try {
      const port = new URL(server.url).port;
      const result = await runCli(
        ['serve', '--port', port, '--data-dir', dir],
        { HERALD_API_KEY: '', HERALD_LOG_LEVEL: 'warn' },
        15_000,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Port \d+ on 127\.0\.0\.1 is in use .*--port or HERALD_PORT/);
      expect(result.stdout + result.stderr).not.toMatch(/claiming deliveries failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
