-- Portal sessions ended by sign-out. Sessions are signed cookies; a
-- cookie copied before sign-out must stop working on every node, so the
-- ended session's id is kept here until the cookie would have expired.
CREATE TABLE ended_sessions (
    id         TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE INDEX ended_sessions_by_expiry ON ended_sessions (expires_at);
