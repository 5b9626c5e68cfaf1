-- Who may sync (the PostgreSQL twin of the SQLite accounts file, see
-- server/src/postgres/accounts.rs): one bearer token per signed-in device,
-- kept only as its SHA-256 hash; invites under a keyed hash of their code;
-- the community platform's users under a keyed hash of issuer and subject.
-- Nothing here names a person: users are random ids. Times are Unix ms.
CREATE TABLE fushi_token (
    hash bytea PRIMARY KEY,
    user_id uuid NOT NULL,
    role text NOT NULL,
    community text NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint,
    device uuid NOT NULL,
    -- android, ios, other or cli.
    platform text NOT NULL,
    expires_at bigint NOT NULL,
    -- The day (midnight UTC) it was last used.
    last_seen_day bigint
);
CREATE INDEX fushi_token_user ON fushi_token (user_id);
CREATE INDEX fushi_token_device ON fushi_token (device);

CREATE TABLE fushi_invite (
    code_hash bytea PRIMARY KEY,
    community text NOT NULL,
    role text NOT NULL,
    created_by uuid NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    -- Taken one at a time by a single UPDATE … WHERE uses_left > 0.
    uses_left bigint NOT NULL,
    -- A code for another device of this user (not a new user).
    for_user uuid
);
CREATE INDEX fushi_invite_expiry ON fushi_invite (expires_at);

CREATE TABLE fushi_identity (
    -- SHA-256 of the identity secret, the issuer and the subject.
    key bytea PRIMARY KEY,
    user_id uuid NOT NULL,
    role text NOT NULL,
    community text NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX fushi_identity_user ON fushi_identity (user_id);

-- Secrets shared by every server process on this database: the key of
-- platform identities ('identity_secret'), drawn by the first process to
-- start (INSERT … ON CONFLICT DO NOTHING, then read back).
CREATE TABLE fushi_secret (
    name text PRIMARY KEY,
    value bytea NOT NULL CHECK (octet_length(value) >= 32)
);
