-- The replicated listings, records and stations: one row each, holding
-- its current winning cells (the same merge rules as the phones, from
-- fushi_core::crdt::row) as JSON, and the sequence number of its latest
-- change. Pushes are numbered under an advisory lock, so numbers commit in
-- order (see server/src/postgres/listings.rs).
CREATE TABLE fushi_meta (
    name text PRIMARY KEY,
    value bigint NOT NULL
);
-- The newest sequence number handed out.
INSERT INTO fushi_meta (name, value) VALUES ('seq', 0);

CREATE TABLE fushi_row (
    tbl text NOT NULL,
    id uuid NOT NULL,
    -- '' for rows of no community (the city's calendar).
    community text NOT NULL,
    seq bigint NOT NULL,
    -- fushi_core::crdt::row::RowState as JSON text (bytes: jsonb would
    -- rewrite numbers).
    state bytea NOT NULL,
    PRIMARY KEY (tbl, id)
);
CREATE INDEX fushi_row_seq ON fushi_row (seq);
CREATE INDEX fushi_row_community_seq ON fushi_row (community, seq);

-- Changes whose clock runs ahead of the server's, held until their time
-- (with who pushed them, judged again on release).
CREATE TABLE fushi_quarantine (
    id bigserial PRIMARY KEY,
    received_at bigint NOT NULL,
    wall_ms bigint NOT NULL,
    change bytea NOT NULL,
    pusher bytea,
    pusher_key bytea,
    pusher_user uuid,
    bytes integer NOT NULL
);
CREATE INDEX fushi_quarantine_wall ON fushi_quarantine (wall_ms);
CREATE INDEX fushi_quarantine_user ON fushi_quarantine (pusher_user);

-- Held changes dropped on release (their pusher's credential was revoked,
-- or the policy refused them then), kept for the operator.
CREATE TABLE fushi_quarantine_drop (
    id bigserial PRIMARY KEY,
    tbl text NOT NULL,
    row_id uuid NOT NULL,
    code text NOT NULL,
    dropped_at bigint NOT NULL
);

-- Station reports and check-ins held apart until their window ends, then
-- published in a shuffled batch.
CREATE TABLE fushi_held_record (
    id uuid PRIMARY KEY,
    slot bigint NOT NULL,
    change bytea NOT NULL
);
CREATE INDEX fushi_held_record_slot ON fushi_held_record (slot);

-- Which live items use which photo (kept with every write of an item), so
-- a photo is served to those who may see one of them and erased when none
-- is left.
CREATE TABLE fushi_photo_use (
    photo text NOT NULL,
    id uuid NOT NULL,
    owner uuid,
    community text NOT NULL,
    hidden boolean NOT NULL,
    PRIMARY KEY (photo, id)
);
CREATE INDEX fushi_photo_use_id ON fushi_photo_use (id);
