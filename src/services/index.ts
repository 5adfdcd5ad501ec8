// The surface that the API, the console and the CLI call.

import type { Metrics, QueueSampler } from '../observability/metrics.js';
import type { AccountService } from './accounts.js';
import type { DeliveryService } from './deliveries.js';
import type { EndpointTester } from './endpoint-tester.js';
import type { EndpointTokens } from './endpoint-tokens.js';
import type { EndpointService } from './endpoints.js';
import type { IngestService } from './ingest.js';
import type { OperationalEvents } from './operational-events.js';
import type { OverviewService } from './overview.js';
import type { WebConnect } from './web-connect.js';

export interface Health {
  /** Whether this process accepts requests (false while starting or draining). */
  readonly ready: boolean;
}

export interface Services {
  readonly accounts: AccountService;
  readonly endpoints: EndpointService;
  readonly ingest: IngestService;
  readonly deliveries: DeliveryService;
  readonly tester: EndpointTester;
  readonly tokens: EndpointTokens;
  readonly operations: OperationalEvents;
  readonly overview: OverviewService;
  readonly connect: WebConnect;
  readonly metrics: Metrics;
  readonly sampler: QueueSampler;
  readonly health: () => Health;
  /** One round trip to the store: resolves while it answers, rejects while it cannot be reached. */
  readonly storeCheck: () => Promise<void>;
}
