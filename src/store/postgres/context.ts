// What the PostgreSQL store's parts (endpoints, ingest, queue, tokens, operations, copy) share:
// the pool and the channel of work wake-ups.

import type pg from 'pg';
import type { Connections } from './connections.js';
import type { Row } from '../rows.js';

export class PostgresContext {
  /** The channel workers listen on; migrate names it after the schema. */
  channel = 'herald_work';

  constructor(readonly connections: Connections) {}

  async query(text: string, values: unknown[] = []): Promise<Row[]> {
    return (await this.connections.query(text, values)).rows as Row[];
  }

  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.connections.transaction(work);
  }

  /** Wakes idle workers in every process. */
  async notify(): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [this.channel, '']);
  }
}
