-- Fewer index writes per delivery. A delivery changes status twice on its way (claimed, then
-- done), and every index holding the status moved with it. The status now lives only in partial
-- indexes of the states that must be found: pending (due), delivering (leased), held and failed.
DROP INDEX deliveries_account_status;
DROP INDEX deliveries_parked;
DROP INDEX deliveries_endpoint;
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
CREATE INDEX deliveries_parked_account ON deliveries (status, account_id, id)
  WHERE status IN ('held', 'failed');
CREATE INDEX deliveries_parked_endpoint ON deliveries (status, endpoint_id, created_at)
  WHERE status IN ('held', 'failed');

-- The attempt log clustered by delivery: one b-tree per attempt instead of three.
CREATE TABLE attempts_by_delivery (
  delivery_id TEXT NOT NULL,
  id TEXT NOT NULL,
  number INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  outcome TEXT NOT NULL,
  error TEXT,
  response_body TEXT,
  PRIMARY KEY (delivery_id, id)
) WITHOUT ROWID;
INSERT INTO attempts_by_delivery (delivery_id, id, number, trigger, started_at, duration_ms,
  status_code, outcome, error, response_body)
  SELECT delivery_id, id, number, trigger, started_at, duration_ms, status_code, outcome, error,
         response_body FROM attempts;
DROP TABLE attempts;
ALTER TABLE attempts_by_delivery RENAME TO attempts;
