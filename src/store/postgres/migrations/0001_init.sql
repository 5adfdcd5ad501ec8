-- Herald's PostgreSQL schema: the same records as the embedded store. Times are milliseconds
-- since the epoch (BIGINT); ids are prefixed, time-sortable text; secrets are ciphertext only.

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  contact_email TEXT,
  created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE endpoints (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  origin TEXT,
  url TEXT NOT NULL,
  events JSONB NOT NULL,
  description TEXT,
  auth_type TEXT NOT NULL,
  auth_status TEXT NOT NULL,
  oauth JSONB,
  secrets TEXT,
  custom_headers JSONB NOT NULL,
  options JSONB NOT NULL,
  state TEXT NOT NULL,
  disabled_reason TEXT,
  failing_since BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX endpoints_account ON endpoints (account_id);
CREATE UNIQUE INDEX endpoints_origin ON endpoints (account_id, origin) WHERE origin IS NOT NULL;

CREATE TABLE events (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  package_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  received_at BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
  account_id TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, key)
);

-- seq orders deliveries by creation for per-package ordering.
CREATE TABLE deliveries (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  cycle_attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  manual BOOLEAN NOT NULL DEFAULT FALSE,
  ordering_key TEXT,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  last_status_code INTEGER,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_expires_at) WHERE status = 'delivering';
CREATE INDEX deliveries_account ON deliveries (account_id, id);
CREATE INDEX deliveries_account_status ON deliveries (account_id, status, id);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, status, created_at);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_parked ON deliveries (status) WHERE status IN ('held', 'failed');
CREATE INDEX deliveries_ordering ON deliveries (endpoint_id, ordering_key, seq)
  WHERE ordering_key IS NOT NULL;

CREATE TABLE attempts (
  id TEXT PRIMARY KEY,
  delivery_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  outcome TEXT NOT NULL,
  error TEXT,
  response_body TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id);

CREATE TABLE operational_events (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  type TEXT NOT NULL,
  endpoint_id TEXT,
  delivery_id TEXT,
  data JSONB NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX operational_events_account ON operational_events (account_id, id);

CREATE TABLE oauth_tokens (
  endpoint_id TEXT PRIMARY KEY,
  credential_key TEXT NOT NULL,
  generation INTEGER NOT NULL,
  access_token TEXT,
  refresh_token TEXT,
  expires_at BIGINT,
  refresh_at BIGINT,
  instance_url TEXT,
  dead_reason TEXT,
  lock_owner TEXT,
  lock_until BIGINT,
  updated_at BIGINT NOT NULL
);
