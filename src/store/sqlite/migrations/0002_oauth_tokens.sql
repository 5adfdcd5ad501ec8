-- OAuth tokens of endpoints: the current access token and (rotated) refresh token, sealed,
-- with a generation number that every refresh moves on, and a refresh lock with an expiry.
CREATE TABLE oauth_tokens (
  endpoint_id TEXT PRIMARY KEY,
  credential_key TEXT NOT NULL,
  generation INTEGER NOT NULL,
  access_token TEXT,
  refresh_token TEXT,
  expires_at INTEGER,
  refresh_at INTEGER,
  instance_url TEXT,
  dead_reason TEXT,
  lock_owner TEXT,
  lock_until INTEGER,
  updated_at INTEGER NOT NULL
);
