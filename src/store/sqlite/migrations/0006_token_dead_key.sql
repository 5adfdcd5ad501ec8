-- A dead credential is dead for one submission of it: submitting credentials again (even the
-- same ones) lifts it, while the stored rotated refresh token of the grant is kept.
ALTER TABLE oauth_tokens ADD COLUMN dead_key TEXT;
