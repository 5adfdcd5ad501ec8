-- Events are found only by id: keep them in one b-tree keyed by id (one insert per event
-- instead of two, one lookup per claim instead of two).
CREATE TABLE events_by_id (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  package_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  received_at INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO events_by_id (id, account_id, name, package_id, payload, received_at)
  SELECT id, account_id, name, package_id, payload, received_at FROM events;
DROP TABLE events;
ALTER TABLE events_by_id RENAME TO events;
