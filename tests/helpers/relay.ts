// A TCP relay on loopback in front of a real server (PostgreSQL in the fault tests), which a test
// cuts at chosen moments: every connection dropped at once and new ones refused (reset) until it
// is restored, as a restart, failover or network blip does. A cut can wait for a statement: it
// happens when a client sends bytes containing a given text (the relay sees the query text of
// PostgreSQL's protocol), before or after those bytes reach the server.

import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Relay {
  readonly port: number;
  /** Connections accepted so far (refused ones not counted). */
  readonly accepted: number;
  /** `url` with its host and port replaced by the relay's. */
  via(url: string): string;
  /** Drops every connection now and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
  /**
   * Cuts as soon as a client sends bytes containing `text`; resolves then. With `deliver`, those
   * bytes reach the server first (the statement runs, its answer is lost).
   */
  cutOn(text: string, options?: { deliver?: boolean }): Promise<void>;
  /** Drops only the connections that sent `text` (e.g. `LISTEN `); returns how many. */
  dropWhere(text: string): number;
  /** Open connections that have sent `text`. */
  countWhere(text: string): number;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly sent: string[];
}

export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  const pairs = new Set<Pair>();
  let cut = false;
  let accepted = 0;
  let trigger: { text: string; deliver: boolean; fire: () => void } | null = null;

  const drop = (pair: Pair): void => {
    pair.client.resetAndDestroy();
    pair.upstream.destroy();
    pairs.delete(pair);
  };
  const cutAll = (): void => {
    cut = true;
    for (const pair of [...pairs]) drop(pair);
  };

  const server: Server = createServer((client) => {
    if (cut) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    accepted++;
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, sent: [] };
    pairs.add(pair);
    for (const s of [client, upstream]) {
      s.on('error', () => drop(pair));
      s.on('close', () => drop(pair));
    }
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      // Query texts are ASCII inside the protocol's framing: latin1 keeps every byte.
      const text = chunk.toString('latin1');
      if (pair.sent.length < 64) pair.sent.push(text);
      const armed = trigger;
      if (armed && text.includes(armed.text)) {
        trigger = null;
        if (armed.deliver) upstream.write(chunk, () => setImmediate(cutAll));
        else cutAll();
        armed.fire();
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  const sentWhere = (pair: Pair, text: string) => pair.sent.some((s) => s.includes(text));

  return {
    port,
    get accepted() {
      return accepted;
    },
    get isCut() {
      return cut;
    },
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut: cutAll,
    restore() {
      cut = false;
    },
    cutOn(text, options = {}) {
      return new Promise((resolve) => {
        trigger = { text, deliver: options.deliver ?? false, fire: resolve };
      });
    },
    dropWhere(text) {
      const chosen = [...pairs].filter((p) => sentWhere(p, text));
      for (const pair of chosen) drop(pair);
      return chosen.length;
    },
    countWhere(text) {
      return [...pairs].filter((p) => sentWhere(p, text)).length;
    },
    async close() {
      trigger = null;
      cutAll();
      await new Promise((r) => server.close(r));
    },
  };
}
