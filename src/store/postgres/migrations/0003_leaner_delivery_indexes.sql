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

-- The attempt log keyed by delivery: one index per attempt instead of two.
ALTER TABLE attempts DROP CONSTRAINT attempts_pkey;
DROP INDEX attempts_delivery;
ALTER TABLE attempts ADD PRIMARY KEY (delivery_id, id);
