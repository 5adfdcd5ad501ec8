// The store port: the only contract between Herald's business code and persistence.
// Adapters (store/sqlite, store/postgres) own SQL, migrations and locking, and declare what they
// can do through `capabilities`; business code branches on capabilities, never on the adapter.
// Secrets cross this boundary only as ciphertext (services/secrets encrypts them).
//
// The port comes in parts, one file each; a consumer takes only the parts it uses (the worker a
// `QueueStore`, the token manager a `TokenStore`, ...), and `Store` is all of them together.

import type { AccountStore, SettingsStore } from './accounts.js';
import type { ActivityStore } from './activity.js';
import type { CopyStore } from './copy.js';
import type { EndpointStore } from './endpoints.js';
import type { IngestStore } from './ingest.js';
import type { StoreLifecycle } from './lifecycle.js';
import type { OperationsStore } from './operations.js';
import type { QueueStore } from './queue.js';
import type { TokenStore } from './tokens.js';

export type * from './accounts.js';
export type * from './activity.js';
export type * from './common.js';
export type * from './copy.js';
export type * from './endpoints.js';
export type * from './ingest.js';
export type * from './lifecycle.js';
export * from './operations.js';
export type * from './queue.js';
export type * from './tokens.js';

/** The whole store, as the adapters implement it and main.ts builds it. */
export type Store = StoreLifecycle &
  SettingsStore &
  AccountStore &
  EndpointStore &
  IngestStore &
  QueueStore &
  ActivityStore &
  TokenStore &
  OperationsStore &
  CopyStore;
