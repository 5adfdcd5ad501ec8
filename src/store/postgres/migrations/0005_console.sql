-- What the console reads. Delivery activity: per endpoint and minute, how many attempts ended in
-- success, a retry or giving up, and succeeded deliveries by publish-to-delivered latency bucket;
-- written with the results it counts, kept two days. Events are found by package id and by name.
CREATE TABLE delivery_activity (
  endpoint_id TEXT NOT NULL,
  minute BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  bucket INTEGER NOT NULL,
  account_id TEXT NOT NULL,
  count BIGINT NOT NULL,
  last_error TEXT,
  PRIMARY KEY (endpoint_id, minute, outcome, bucket)
);
CREATE INDEX delivery_activity_account ON delivery_activity (account_id, minute);
CREATE INDEX delivery_activity_minute ON delivery_activity (minute);
CREATE INDEX events_package ON events (account_id, package_id, id);
CREATE INDEX events_name ON events (account_id, name, id);
