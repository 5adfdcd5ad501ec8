-- What the console reads (see store/activity.ts). Delivery activity, written with the results it
-- counts and kept two days: outcome counts per minute for each account and for all ('*'),
-- succeeded deliveries per publish-to-delivered latency bucket per 10 minutes, and per endpoint
-- and hour its counts and latest error. Events are found by package id and by name.
CREATE TABLE activity_minutes (
  scope TEXT NOT NULL,
  minute INTEGER NOT NULL,
  succeeded INTEGER NOT NULL,
  retried INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  PRIMARY KEY (scope, minute)
) WITHOUT ROWID;
CREATE TABLE activity_latency (
  scope TEXT NOT NULL,
  slice INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (scope, slice, bucket)
) WITHOUT ROWID;
CREATE TABLE endpoint_activity (
  endpoint_id TEXT NOT NULL,
  hour INTEGER NOT NULL,
  account_id TEXT NOT NULL,
  succeeded INTEGER NOT NULL,
  retried INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  last_error TEXT,
  last_error_at INTEGER,
  PRIMARY KEY (endpoint_id, hour)
) WITHOUT ROWID;
CREATE INDEX endpoint_activity_account ON endpoint_activity (account_id, hour);
CREATE INDEX events_package ON events (account_id, package_id);
CREATE INDEX events_name ON events (account_id, name);
