// `herald listen` as a user runs it beside `herald serve`: real subprocesses, real deliveries.

import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/herald.js';
import { runCli, startListening, startServer, type ServerProcess } from '../helpers/process.js';

const LISTENING = /Listening for callbacks on (http:\/\/\S+)/;
const SECRET = `whsec_${Buffer.from('a signing secret of 32 bytes....').toString('base64')}`;

function signed(id: string, body: string, secret = SECRET): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}

describe('herald listen', () => {
  let dataDir: string;
  let server: ServerProcess;
  let listener: ServerProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'herald-listen-'));
    [server, listener] = await Promise.all([
      startServer(['--port', '0', '--data-dir', dataDir, '--allow-private-network'], {
        HERALD_API_KEY: '',
        HERALD_LOG_LEVEL: 'warn',
      }),
      startListening(['listen', '--port', '0', '--key', 'listen-key'], {}, LISTENING),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), listener?.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints a delivery Herald makes, with OneSpan's body, and answers 200", async () => {
    const key = readFileSync(join(dataDir, 'api-key'), 'utf8').trim();
    const registered = await fetch(`${server.url}/api/callback`, {
      method: 'POST',
      headers: { authorization: `Basic ${key}` },
      body: JSON.stringify({
        url: `${listener.url}/callback`,
        key: 'listen-key',
        events: ['PACKAGE_COMPLETE'],
      }),
    });
    expect(registered.status).toBe(200);
    const published = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ name: 'PACKAGE_COMPLETE', packageId: 'pkg-listen-1' }),
    });
    expect(published.status).toBe(202);
    const { id } = (await published.json()) as { id: string };

    const line = await eventually(
      () => listener.output().match(/^.*PACKAGE_COMPLETE\s+package pkg-listen-1.*$/m)?.[0],
      10_000,
      'the listener to print the callback',
    );
    expect(line).toContain(`webhook-id ${id}`);
    expect(line).toMatch(/→ 200$/);
    expect(listener.output()).toContain(
      '"@class":"com.silanis.esl.packages.event.ESLProcessEvent"',
    );
    // The listener printed the callback as it answered; its result is written a moment later.
    const status = await eventually(
      async () => {
        const shown = await runCli(['deliveries', 'list', '--json'], {
          HERALD_URL: server.url,
          HERALD_DATA_DIR: dataDir,
          HERALD_API_KEY: '',
        });
        const { data } = JSON.parse(shown.stdout) as {
          data: Array<{ eventId: string; status: string }>;
        };
        const found = data.find((d) => d.eventId === id)?.status;
        return found === 'delivering' ? undefined : found;
      },
      10_000,
      'the delivery to be recorded',
    );
    expect(status).toBe('succeeded');
  });

  it('refuses a wrong key with 401 and a body that is not an event with 400, and says why', async () => {
    const event = JSON.stringify({ name: 'PACKAGE_COMPLETE', packageId: 'p' });
    const wrong = await fetch(`${listener.url}/cb`, {
      method: 'POST',
      headers: { authorization: 'Basic not-the-key' },
      body: event,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toBe('application/problem+json');
    expect(((await wrong.json()) as { detail: string }).detail).toMatch(/callback key/);

    const notEvent = await fetch(`${listener.url}/cb`, {
      method: 'POST',
      headers: { authorization: 'Basic listen-key' },
      body: '{"hello":',
    });
    expect(notEvent.status).toBe(400);
    expect(((await notEvent.json()) as { detail: string }).detail).toMatch(/not JSON/);

    const get = await fetch(`${listener.url}/cb`);
    expect(get.status).toBe(405);

    const huge = await fetch(`${listener.url}/cb`, {
      method: 'POST',
      headers: { authorization: 'Basic listen-key' },
      body: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);

    await eventually(
      () => (/→ 401 The Authorization header/.test(listener.output()) ? true : undefined),
      5000,
      'the refusal to be printed',
    );
    expect(listener.output()).not.toContain('not-the-key');
  });

  it('checks signatures, answers with the status it is told, prints JSON lines', async () => {
    const signing = await startListening(
      ['listen', '--port', '0', '--signing-secret', SECRET, '--status', '503', '--json'],
      {},
      LISTENING,
    );
    try {
      const body = JSON.stringify({ name: 'SIGNER_COMPLETE', packageId: 'pkg-2' });
      const good = await fetch(`${signing.url}/x`, {
        method: 'POST',
        headers: signed('evt_1', body),
        body,
      });
      expect(good.status).toBe(503);
      const forged = await fetch(`${signing.url}/x`, {
        method: 'POST',
        headers: signed('evt_2', body, `whsec_${Buffer.from('another secret').toString('base64')}`),
        body,
      });
      expect(forged.status).toBe(401);
      const lines = await eventually(
        () => {
          const found = signing
            .output()
            .split('\n')
            .filter((l) => l.startsWith('{'));
          return found.length >= 2 ? found : undefined;
        },
        5000,
        'two JSON lines',
      );
      const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(first).toMatchObject({
        status: 503,
        webhookId: 'evt_1',
        event: { name: 'SIGNER_COMPLETE', packageId: 'pkg-2' },
      });
      expect(second).toMatchObject({
        status: 401,
        problem: 'No webhook-signature matches the signing secrets',
      });
    } finally {
      expect(await signing.stop()).toBe(0);
    }
  });

  it('explains a wrong option', async () => {
    const result = await runCli(['listen', '--status', '99']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--status must be an HTTP status/);
    const secret = await runCli(['listen', '--signing-secret', 'bogus']);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/--signing-secret must be a whsec_/);
  });
});
