// The relay a Node team would write instead of Herald, as the DIY comparator runs it: node:http
// ingest → BullMQ queue on Redis → BullMQ Worker POSTing with undici. Built the way BullMQ's docs
// recommend: the producer's connection fails fast when Redis is away (enableOfflineQueue: false,
// answered 503) while the Worker's waits for it (maxRetriesPerRequest: null); batches are added
// with addBulk; jobs retry with exponential backoff; finished jobs are trimmed (removeOnComplete
// / removeOnFail). Bodies are parsed as Herald parses them (diy-events.ts) and sent with Herald's
// headers, so the listener's work per delivery is the same on both sides.
// Started by diy.ts; not meant to be run by hand.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker, type Job } from 'bullmq';
import { Pool } from 'undici';
import { parsePublish } from './diy-events.js';
import type { DiyApi, DiyCounts, DiyOptions, DiyReady } from './diy-protocol.js';
import { deliveryHeaders, syntheticWebhookId } from './payload.js';
import { childArgument, serveRpc } from './rpc.js';

const MAX_BODY_BYTES = 16 * 2 ** 20;
const SEND_TIMEOUT_MS = 15_000;

interface DeliveryJob {
  /** The webhook-id: the listener's idempotency key, stable across retries. */
  readonly id: string;
  /** The exact body to POST. */
  readonly body: string;
}

const options = childArgument<DiyOptions>();
const counts = { accepted: 0, delivered: 0, failedSends: 0 };
let nextId = 0;

function startQueue(): Queue<DeliveryJob> {
  const queue = new Queue<DeliveryJob>(options.queue, {
    connection: { ...options.redis, enableOfflineQueue: false },
    prefix: options.prefix,
    defaultJobOptions: { attempts: 10, backoff: { type: 'exponential', delay: 5000 } },
  });
  queue.on('error', (error) => process.stderr.write(`diy queue: ${String(error)}\n`));
  return queue;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function accept(queue: Queue<DeliveryJob>, text: string, res: ServerResponse) {
  const parsed = parsePublish(text, Date.now());
  if ('error' in parsed) return reply(res, 400, { error: parsed.error });
  const jobs = parsed.bodies.map((body) => ({
    name: 'deliver',
    data: { id: syntheticWebhookId(options.idTag, nextId++), body },
  }));
  try {
    if (parsed.single) await queue.add(jobs[0]!.name, jobs[0]!.data);
    else await queue.addBulk(jobs);
  } catch (error) {
    return reply(res, 503, { error: `queue unavailable: ${String(error)}` });
  }
  counts.accepted += jobs.length;
  if (parsed.single) reply(res, 202, { id: jobs[0]!.data.id });
  else reply(res, 202, { ids: jobs.map((j) => j.data.id) });
}

function handle(queue: Queue<DeliveryJob>, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST' || req.url !== '/v1/events') {
    reply(res, 404, { error: 'not found' });
    req.resume();
    return;
  }
  if (req.headers.authorization !== `Bearer ${options.apiKey}`) {
    reply(res, 401, { error: 'unauthorized' });
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      reply(res, 413, { error: 'body too large' });
      req.destroy();
    } else chunks.push(chunk);
  });
  req.on('end', () => void accept(queue, Buffer.concat(chunks).toString('utf8'), res));
}

async function startIngest(): Promise<{ url: string; close(): Promise<void> }> {
  const queue = startQueue();
  await queue.waitUntilReady();
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => handle(queue, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.close();
    },
  };
}

async function startWorker(): Promise<{ close(): Promise<void> }> {
  const target = new URL(options.target);
  const pool = new Pool(target.origin, {
    connections: options.concurrency,
    pipelining: 1,
    connectTimeout: 5000,
    headersTimeout: SEND_TIMEOUT_MS,
    bodyTimeout: SEND_TIMEOUT_MS,
  });
  const deliver = async (job: Job<DeliveryJob>): Promise<void> => {
    try {
      const res = await pool.request({
        path: target.pathname,
        method: 'POST',
        headers: deliveryHeaders(job.data.id),
        body: job.data.body,
      });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode > 299) {
        throw new Error(`listener answered ${res.statusCode}`);
      }
      counts.delivered++;
    } catch (error) {
      counts.failedSends++;
      throw error;
    }
  };
  const worker = new Worker<DeliveryJob>(options.queue, deliver, {
    connection: { ...options.redis, maxRetriesPerRequest: null },
    prefix: options.prefix,
    concurrency: options.concurrency,
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 },
  });
  worker.on('error', (error) => process.stderr.write(`diy worker: ${String(error)}\n`));
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      await pool.close();
    },
  };
}

async function main(): Promise<void> {
  const parts: Array<{ close(): Promise<void> }> = [];
  let url: string | null = null;
  if (options.role !== 'worker') {
    const ingest = await startIngest();
    url = ingest.url;
    parts.push(ingest);
  }
  if (options.role !== 'ingest') parts.push(await startWorker());
  const api: DiyApi = {
    counts: (): DiyCounts => ({ ...counts }),
    async stop() {
      for (const part of parts.splice(0)) await part.close();
    },
  };
  serveRpc(api, { url } satisfies DiyReady);
}

main().catch((error: unknown) => {
  process.stderr.write(`diy relay failed to start: ${String(error)}\n`);
  process.exit(1);
});
