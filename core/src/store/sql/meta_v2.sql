-- Metadata version 2: the server's word against a hostile phone.

-- Who pushed a held change (the server; NULL on phones, which hold only
-- what the server accepted): the user as the credential said at push time
-- (policy Actor as JSON), the credential's key (the token's hash), the
-- user id (for the per-user cap) and the held change's size.
ALTER TABLE crdt_quarantine ADD COLUMN pusher TEXT;
ALTER TABLE crdt_quarantine ADD COLUMN pusher_key BLOB;
ALTER TABLE crdt_quarantine ADD COLUMN pusher_user BLOB;
ALTER TABLE crdt_quarantine ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX crdt_quarantine_user ON crdt_quarantine(pusher_user)
  WHERE pusher_user IS NOT NULL;
CREATE INDEX crdt_quarantine_received ON crdt_quarantine(received_at)
  WHERE pusher IS NOT NULL;

-- Held changes dropped rather than applied: revoked, expired, or refused
-- when judged again. No user: the row and the reason.
CREATE TABLE crdt_quarantine_drop (
  dropped_at INTEGER NOT NULL,
  tbl TEXT NOT NULL,
  id BLOB NOT NULL,
  code TEXT NOT NULL
);

-- The present tags of each set element, so that removing a tag asks
-- "is the element still there?" without reading its removed tags.
CREATE INDEX crdt_tag_present ON crdt_tag(tbl, rid, col, elem) WHERE removed = 0;

-- Station reports and check-ins the server holds until their window's
-- shuffled batch is published: the id, the window (not the moment) and the
-- record; nothing of the push that brought it.
CREATE TABLE crdt_held_record (
  id BLOB PRIMARY KEY,
  slot INTEGER NOT NULL,
  change TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX crdt_held_record_window ON crdt_held_record(slot);
