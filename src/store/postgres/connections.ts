// PostgreSQL connections that outlive the server going away: a restart, a failover, a network
// blip or `pg_terminate_backend` fails the calls in flight (the API answers them 503
// store_unavailable, the worker retries) and never ends the process.
//
// How `pg` 8 reports a lost connection, and who hears it here:
//   - an idle pooled client emits 'error' on the pool (pg-pool listens on it and drops it);
//   - a client checked out of the pool emits 'error' on the client itself, and pg-pool listens
//     only while it is idle: `transaction` listens while it holds one, and a client that failed
//     is destroyed (`release(error)`), never handed to the next caller mid-transaction;
//   - `pool.query` listens on the client it checks out for the one query;
//   - the LISTEN client is ours alone: listened to from before it connects until it is dropped,
//     then replaced with backoff (and the worker woken, since notifications may have been lost).

import pg from 'pg';

/** How long getting a pooled connection may take before the call fails as unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Backoff of the LISTEN connection's reconnects: first wait, longest wait. */
const LISTEN_RETRY_FIRST_MS = 250;
const LISTEN_RETRY_MAX_MS = 10_000;

/** What PostgreSQL shows as `application_name` when the URL names none (`?application_name=`). */
export const DEFAULT_APPLICATION_NAME = 'herald';

// BIGINT (int8) columns hold milliseconds: safe as JavaScript numbers.
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export interface ConnectionOptions {
  readonly connectionString: string;
  readonly poolSize: number;
  /** Told of every connection lost outside a call (the call's own error goes to its caller). */
  readonly onConnectionError?: (error: Error, where: 'idle' | 'transaction' | 'listen') => void;
}

export class Connections {
  readonly pool: pg.Pool;
  private readonly onConnectionError: NonNullable<ConnectionOptions['onConnectionError']>;

  constructor(private readonly o: ConnectionOptions) {
    this.onConnectionError = o.onConnectionError ?? (() => undefined);
    this.pool = new pg.Pool({
      ...this.clientConfig(),
      max: o.poolSize,
      // An unreachable server fails calls with 503 store_unavailable instead of hanging them.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    this.pool.on('error', (error) => this.onConnectionError(error, 'idle'));
  }

  private clientConfig(): pg.ClientConfig {
    return {
      connectionString: this.o.connectionString,
      fallback_application_name: DEFAULT_APPLICATION_NAME,
      // A server that vanished without closing the socket is noticed, not waited for forever.
      keepAlive: true,
      types,
    };
  }

  async query(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query(text, values);
  }

  /**
   * Runs `work` in one transaction on one pooled connection. A connection lost on the way is
   * destroyed, and the error goes to the caller: the transaction was rolled back by the server
   * (or, lost during COMMIT, may have committed: callers treat that like any failed call).
   */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost ??= error;
      this.onConnectionError(error, 'transaction');
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (!lost) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          lost ??=
            rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
      }
      throw error;
    } finally {
      client.removeListener('error', onError);
      // With an error the pool destroys the client instead of keeping it.
      client.release(lost);
    }
  }

  /**
   * LISTENs on `channel` on a connection of its own, kept up for as long as the subscription
   * lives: a lost connection is replaced with backoff (250 ms doubling to 10 s), and `wake` is
   * called once it listens again, since notifications sent meanwhile were lost. Resolves once
   * the first connection listens.
   */
  async listen(channel: string, wake: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let current: pg.Client | null = null;
    let retryTimer: NodeJS.Timeout | null = null;
    let failures = 0;

    const connectOnce = async (): Promise<boolean> => {
      const client = new pg.Client(this.clientConfig());
      let dropped = false;
      let listening = false;
      const drop = (error?: Error): void => {
        if (dropped) return;
        dropped = true;
        if (error) this.onConnectionError(error, 'listen');
        if (current === client) current = null;
        client.removeAllListeners('notification');
        void client.end().catch(() => undefined);
        if (!stopped && listening) schedule();
      };
      // From before it connects: a connection lost at any point is an error event.
      client.on('error', (error) => drop(error));
      client.on('end', () => drop());
      client.on('notification', () => wake());
      try {
        await client.connect();
        await client.query(`LISTEN ${channel}`);
      } catch (error) {
        drop(error instanceof Error ? error : new Error(String(error)));
        return false;
      }
      if (dropped || stopped) {
        void client.end().catch(() => undefined);
        return false;
      }
      listening = true;
      current = client;
      return true;
    };

    const schedule = (): void => {
      if (stopped || retryTimer) return;
      const wait = Math.min(LISTEN_RETRY_MAX_MS, LISTEN_RETRY_FIRST_MS * 2 ** failures);
      failures++;
      retryTimer = setTimeout(
        () => {
          retryTimer = null;
          void connectOnce().then((ok) => {
            if (ok) {
              failures = 0;
              // Work made due while nobody listened: look now rather than at the next poll.
              wake();
            } else {
              schedule();
            }
          });
        },
        wait * (0.8 + 0.4 * Math.random()),
      );
      retryTimer.unref();
    };

    if (!(await connectOnce())) schedule();
    return async () => {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      const client = current;
      current = null;
      await client?.end().catch(() => undefined);
    };
  }

  async end(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
