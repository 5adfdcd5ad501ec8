// The DIY relay as a contestant of the sustained runs (diy-process.ts is the relay itself). Each
// run gets a queue of its own name under the bench's key prefix, obliterated before the relay
// starts and again after it stops, so nothing of a run stays in Redis, even when it fails.

import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Child } from './child.js';
import type { Scope } from './cleanup.js';
import { withTimeout } from './clock.js';
import type { DiyApi, DiyOptions, DiyReady, DiyRole } from './diy-protocol.js';
import type { RedisServer } from './redis.js';
import type { Contestant } from './sustained.js';

/** The issue's relay: a Worker running 64 jobs at once. */
export const DIY_CONCURRENCY = 64;
/** Every key the relay writes starts with this (BullMQ's default is `bull`). */
export const DIY_PREFIX = 'herald-bench-diy';
const DIY_API_KEY = 'diy-bench-api-key-0123456789abcdef';
const STOP_TIMEOUT_MS = 15_000;

/** `one`: ingest and Worker in one process; `two`: an ingest process and a Worker process. */
export type DiyLayout = 'one' | 'two';

/**
 * `two` (ingest and Worker each on an event loop of their own, as Herald's ingest and store
 * have a thread each) unless HERALD_BENCH_DIY_LAYOUT says `one`.
 */
export function diyLayout(): DiyLayout {
  const wanted = process.env.HERALD_BENCH_DIY_LAYOUT ?? 'two';
  if (wanted !== 'one' && wanted !== 'two') {
    throw new Error(`HERALD_BENCH_DIY_LAYOUT must be one or two, not ${wanted}`);
  }
  return wanted;
}

async function keysOf(redis: RedisServer, queue: string): Promise<number> {
  const client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${DIY_PREFIX}:${queue}:*`);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  } finally {
    client.disconnect();
  }
}

/**
 * Obliterates the queues earlier bench runs left behind: those whose runner (the pid in the
 * queue's name) is no longer alive, as after a SIGKILL. Queues of a live runner are left alone.
 */
export async function obliterateStaleQueues(
  redis: RedisServer,
  log: (line: string) => void,
): Promise<void> {
  const client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  const queues = new Set<string>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${DIY_PREFIX}:run-*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) queues.add(key.split(':')[1]!);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  for (const queue of queues) {
    const pid = Number(/^run-(\d+)-/.exec(queue)?.[1]);
    if (!Number.isInteger(pid) || isAlive(pid)) continue;
    const left = await obliterateQueue(redis, queue);
    log(
      `obliterated ${DIY_PREFIX}:${queue}, left by a runner (pid ${pid}) that is gone${left ? ` (${left} keys remain)` : ''}`,
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the queue and every job in it, whatever their state; returns the keys left (0). */
export async function obliterateQueue(redis: RedisServer, queue: string): Promise<number> {
  const q = new Queue(queue, {
    connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: 1 },
    prefix: DIY_PREFIX,
  });
  q.on('error', () => {});
  try {
    await q.obliterate({ force: true });
  } finally {
    await q.close();
  }
  return keysOf(redis, queue);
}

async function startRelayProcess(
  scope: Scope,
  label: string,
  options: DiyOptions,
): Promise<{ ready: DiyReady; pid: number }> {
  const { child, ready } = await Child.start<DiyApi, DiyReady>(
    label,
    new URL('./diy-process.js', import.meta.url),
    options,
  );
  scope.add(label, {
    async close() {
      try {
        await withTimeout(child.call('stop'), STOP_TIMEOUT_MS, `${label} to stop`);
      } finally {
        await child.close();
      }
    },
  });
  return { ready, pid: child.pid };
}

export function diyRelay(
  redis: RedisServer,
  layout: DiyLayout,
  log: (line: string) => void,
): Contestant {
  let runs = 0;
  return {
    name: 'DIY relay',
    async start(scope, target) {
      const queue = `run-${process.pid}-${runs++}-${randomBytes(4).toString('hex')}`;
      await obliterateQueue(redis, queue);
      // Registered before the relay, so it runs after the relay has stopped.
      scope.defer(`obliterate queue ${queue}`, async () => {
        const left = await obliterateQueue(redis, queue);
        if (left > 0) log(`warning: ${left} keys of ${DIY_PREFIX}:${queue} left in Redis`);
      });
      const options = (role: DiyRole): DiyOptions => ({
        role,
        redis: { host: redis.host, port: redis.port },
        prefix: DIY_PREFIX,
        queue,
        target,
        apiKey: DIY_API_KEY,
        concurrency: DIY_CONCURRENCY,
        idTag: 'DIY',
      });
      // The Worker first, then the ingest, whose ready says where the relay listens.
      const started =
        layout === 'one'
          ? [await startRelayProcess(scope, 'diy relay', options('all'))]
          : [
              await startRelayProcess(scope, 'diy worker', options('worker')),
              await startRelayProcess(scope, 'diy ingest', options('ingest')),
            ];
      const { ready } = started[started.length - 1]!;
      if (!ready.url) throw new Error('the DIY relay did not say where it listens');
      // Redis is the relay's store, as SQLite is inside Herald's process: its CPU time counts.
      // Without its pid (not on this machine) no CPU figure rather than one that leaves it out.
      return {
        url: ready.url,
        apiKey: DIY_API_KEY,
        pids: redis.pid === undefined ? [] : [redis.pid, ...started.map((relay) => relay.pid)],
      };
    },
  };
}
