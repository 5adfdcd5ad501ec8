-- Due work per endpoint: claims find the endpoints that have pending deliveries with one index
-- seek each, instead of walking past a slow endpoint's whole backlog.
CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';
