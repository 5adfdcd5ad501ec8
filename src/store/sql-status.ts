// The statuses each store operation moves a delivery from (domain/transitions.ts), written as the
// SQL terms of the adapters' WHERE clauses, so the lists in the queries are the table's. Built
// once, at load.
//
// A one-status list is written `status = 'pending'`, never `IN ('pending')`: SQLite uses a
// partial index only when the query repeats its condition (`WHERE status = 'pending'`, see the
// migrations), and a longer list keeps its order for the same reason (`IN ('held', 'failed')`).

import { DELIVERY_STATUSES, type DeliveryStatus } from '../domain/delivery.js';
import {
  CLAIMABLE,
  HOLDABLE,
  LEASED,
  OUTSTANDING,
  RECOVERABLE,
  REDELIVERABLE,
  RELEASABLE,
} from '../domain/transitions.js';

/** A column, optionally with its table's alias: `status`, `d.status`. */
const COLUMN = /^(?:[a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/i;

const literal = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * `<column> = 'a'` for one value, `<column> IN ('a', 'b')` for more, in the list's order (quotes
 * doubled inside each literal).
 */
export function sqlIn(column: string, values: readonly string[]): string {
  if (!COLUMN.test(column)) throw new Error(`not a column: ${column}`);
  if (values.length === 0) throw new Error(`no values for ${column}`);
  if (values.length === 1) return `${column} = ${literal(values[0]!)}`;
  return `${column} IN (${values.map(literal).join(', ')})`;
}

/**
 * Finished deliveries: the statuses that are not outstanding (succeeded, failed), in the order of
 * DELIVERY_STATUSES. Retention deletes only these.
 */
export const FINISHED: readonly DeliveryStatus[] = Object.freeze(
  DELIVERY_STATUSES.filter((s) => !(OUTSTANDING as readonly DeliveryStatus[]).includes(s)),
);

const FINISHED_SET: ReadonlySet<unknown> = new Set(FINISHED);

/** Whether a status read from a row is finished: never one retention must keep. */
export function isFinished(status: unknown): boolean {
  return FINISHED_SET.has(status);
}

/** The WHERE terms of the status-moving statements, for one status column. */
export interface StatusTerms {
  /** claimDeliveries: CLAIMABLE. */
  readonly claimable: string;
  /** recordResults, renewLeases, releaseLeases, recoverLeases: LEASED. */
  readonly leased: string;
  /** holdDeliveries: HOLDABLE. */
  readonly holdable: string;
  /** releaseHeldDeliveries, releaseStrandedHolds, a late hold's release: RELEASABLE. */
  readonly releasable: string;
  /** redeliver: REDELIVERABLE. */
  readonly redeliverable: string;
  /** recover: RECOVERABLE. */
  readonly recoverable: string;
  /** What blocks the later deliveries of a package: OUTSTANDING. */
  readonly outstanding: string;
  /** What retention may delete: FINISHED. */
  readonly finished: string;
}

function statusTerms(column: string): StatusTerms {
  return Object.freeze({
    claimable: sqlIn(column, CLAIMABLE),
    leased: sqlIn(column, LEASED),
    holdable: sqlIn(column, HOLDABLE),
    releasable: sqlIn(column, RELEASABLE),
    redeliverable: sqlIn(column, REDELIVERABLE),
    recoverable: sqlIn(column, RECOVERABLE),
    outstanding: sqlIn(column, OUTSTANDING),
    finished: sqlIn(column, FINISHED),
  });
}

/** On `status`: `WHERE id = ? AND ${STATUS_IN.leased}`. */
export const STATUS_IN = statusTerms('status');
/** On `d.status`, the delivery a statement moves. */
export const D_STATUS_IN = statusTerms('d.status');
/** On `p.status`, an earlier delivery of the same package (the ordering check). */
export const P_STATUS_IN = statusTerms('p.status');
