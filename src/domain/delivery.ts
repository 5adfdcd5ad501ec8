// Delivery states and the records of deliveries and attempts. The moves between the states, and
// what each does to the attempt counters, are in transitions.ts, which draws them.

import type { AccountId, AttemptId, DeliveryId, EndpointId, EventId } from './ids.js';

export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'failed', 'held'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export function isDeliveryStatus(value: string): value is DeliveryStatus {
  return (DELIVERY_STATUSES as readonly string[]).includes(value);
}

/** How an attempt came about, for the attempt log. */
export type AttemptTrigger = 'scheduled' | 'manual' | 'token_refresh';

export interface Delivery {
  readonly id: DeliveryId;
  readonly eventId: EventId;
  readonly endpointId: EndpointId;
  readonly accountId: AccountId;
  readonly eventName: string;
  readonly status: DeliveryStatus;
  /** Attempts ever made. */
  readonly attempts: number;
  /** Attempts in the current retry cycle (a manual retry or recover starts a new cycle). */
  readonly cycleAttempts: number;
  readonly nextAttemptAt: number | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface Attempt {
  readonly id: AttemptId;
  readonly deliveryId: DeliveryId;
  readonly number: number;
  readonly trigger: AttemptTrigger;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly statusCode: number | null;
  /** Classification of the outcome (see outcome.ts). */
  readonly outcome: string;
  readonly error: string | null;
  /** Start of the listener's response body, capped. */
  readonly responseBody: string | null;
}
