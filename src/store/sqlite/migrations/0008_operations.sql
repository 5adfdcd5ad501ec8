-- Operational events are delivered and emailed: each is stored first (with what produced it, in
-- one transaction), then fanned out to its subscribers' deliveries and the email outbox, also in
-- one transaction, which sets dispatched_at. Those raised before this version were told already.
ALTER TABLE operational_events ADD COLUMN dispatched_at INTEGER;
UPDATE operational_events SET dispatched_at = created_at;
CREATE INDEX operational_events_undispatched ON operational_events (id) WHERE dispatched_at IS NULL;

-- The email outbox: one row per email. While an email waits (at most one an hour per endpoint and
-- kind of trouble), later events of the same kind are counted into it.
CREATE TABLE alert_emails (
  seq INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  type TEXT NOT NULL,
  endpoint_url TEXT NOT NULL,
  endpoint_description TEXT,
  count INTEGER NOT NULL,
  data TEXT NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  lease_until INTEGER,
  finished_at INTEGER
);
CREATE UNIQUE INDEX alert_emails_waiting ON alert_emails (endpoint_id, type) WHERE status = 'pending';
CREATE INDEX alert_emails_due ON alert_emails (due_at) WHERE status = 'pending';
CREATE INDEX alert_emails_sent ON alert_emails (endpoint_id, type, finished_at) WHERE status = 'sent';
CREATE INDEX alert_emails_finished ON alert_emails (finished_at) WHERE status <> 'pending';

-- Retention finds idempotency keys by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Traces: the publish's W3C traceparent, when tracing was on, so its deliveries continue the trace.
ALTER TABLE events ADD COLUMN trace_parent TEXT;
