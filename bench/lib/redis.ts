// The Redis the DIY relay queues on: the machine's (127.0.0.1:6379) when one answers there, or a
// `redis-server` the bench starts on a free loopback port without persistence and stops at the
// end. Only the DIY comparator uses it, and only keys under its own prefix (see diy.ts).

import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { classifyAddress } from '../../src/domain/addresses.js';
import type { Scope } from './cleanup.js';
import { trackPid, untrackPid } from './cleanup.js';
import { sleep } from './clock.js';

export const MACHINE_REDIS = { host: '127.0.0.1', port: 6379 } as const;
const START_TIMEOUT_MS = 10_000;

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `machine`: the one already answering on 6379; `started`: the bench's own. */
  readonly source: 'machine' | 'started';
  readonly version: string | null;
  /**
   * The server's process id (`INFO server`), for its CPU time; only when it is on loopback,
   * where that pid is one of this machine's processes.
   */
  readonly pid?: number;
  /** The server's `save` and `appendonly` settings: whether it persists what it is given. */
  readonly save: string | null;
  readonly appendonly: string | null;
}

function client(host: string, port: number): Redis {
  const redis = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {
    // Reported by the command that fails; an unhandled 'error' would end the runner.
  });
  return redis;
}

async function configValue(redis: Redis, name: string): Promise<string | null> {
  try {
    const reply = (await redis.config('GET', name)) as string[];
    return reply[1] ?? null;
  } catch {
    return null; // CONFIG may be renamed or refused: then the report says "unknown"
  }
}

/** The server's identity if one answers PING at host:port, else null. */
async function probe(
  host: string,
  port: number,
): Promise<Omit<RedisServer, 'host' | 'port' | 'source'> | null> {
  const redis = client(host, port);
  try {
    await redis.connect();
    if ((await redis.ping()) !== 'PONG') return null;
    const info = await redis.info('server');
    const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    const local = classifyAddress(host)?.kind === 'loopback' && Number.isInteger(pid);
    return {
      version: /^redis_version:(\S+)/m.exec(info)?.[1] ?? null,
      ...(local ? { pid } : {}),
      save: await configValue(redis, 'save'),
      appendonly: await configValue(redis, 'appendonly'),
    };
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The machine's Redis, or a `redis-server` started here (stopped when `scope` closes). Resolves
 * null, with `reason` set, when neither is possible.
 */
export async function ensureRedis(
  scope: Scope,
  log: (line: string) => void,
): Promise<{ server: RedisServer } | { server: null; reason: string }> {
  const machine = await probe(MACHINE_REDIS.host, MACHINE_REDIS.port);
  const where = `${MACHINE_REDIS.host}:${MACHINE_REDIS.port}`;
  if (machine) {
    const persists = Boolean(machine.save) || machine.appendonly === 'yes';
    log(
      `using the machine's Redis ${machine.version ?? ''} on ${where}` +
        (persists
          ? ` (it persists: save "${machine.save ?? ''}", appendonly ${machine.appendonly}; the DIY figures include that)`
          : ' (no persistence configured)'),
    );
    return { server: { ...MACHINE_REDIS, source: 'machine', ...machine } };
  }
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', [...args, '--maxmemory-policy', 'noeviction'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let exited = false;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      if (child.pid !== undefined) untrackPid(child.pid);
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  if (child.pid !== undefined) trackPid(child.pid);
  scope.defer(`redis-server on port ${port}`, async () => {
    if (exited) return;
    child.kill('SIGTERM');
    await Promise.race([exit, sleep(5000)]);
    if (!exited) child.kill('SIGKILL');
    await Promise.race([exit, sleep(2000)]);
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!exited && Date.now() < deadline) {
    const started = await probe('127.0.0.1', port);
    if (started) {
      log(
        `no Redis answered on ${where}: started \`redis-server --port ${port} --save "" ` +
          `--appendonly no\` (pid ${child.pid}); it is stopped at the end`,
      );
      return { server: { host: '127.0.0.1', port, source: 'started', ...started } };
    }
    await sleep(100);
  }
  return {
    server: null,
    reason: exited
      ? `no Redis on ${where} and redis-server could not start${stderr ? `: ${stderr.trim().split('\n').pop()}` : ' (is it installed?)'}`
      : `redis-server did not answer within ${START_TIMEOUT_MS / 1000} s`,
  };
}
