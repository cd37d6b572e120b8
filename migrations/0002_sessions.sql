-- Login sessions. Ephemeral (not events): only a SHA-256 of the token is kept, so a leaked table
-- cannot be replayed as cookies. The role is read live from the `users` read model on each request,
-- so disabling or demoting a user takes effect at once.
CREATE TABLE sessions
(
    token_hash text PRIMARY KEY,
    username   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
