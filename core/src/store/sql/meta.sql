-- Merge metadata, kept beside the replicated tables.

-- Sites (replicas) as small integers; the UUID is what breaks ties.
CREATE TABLE crdt_site (
  idx INTEGER PRIMARY KEY,
  uuid BLOB NOT NULL UNIQUE
);

-- Tags of the add-wins sets (station amenities, item photos): one per add,
-- named by the add's stamp; removed tags stay as tombstones.
-- seq: local sequence when the tag last changed here (0 if by a remote
-- change on a phone).
CREATE TABLE crdt_tag (
  tbl INTEGER NOT NULL,
  rid INTEGER NOT NULL,
  col INTEGER NOT NULL,
  elem TEXT NOT NULL,
  clock INTEGER NOT NULL,
  site INTEGER NOT NULL,
  removed INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tbl, rid, col, elem, clock, site)
) WITHOUT ROWID;

-- Changes whose clock ran too far ahead of this replica's time: kept, not
-- applied, until time catches up.
CREATE TABLE crdt_quarantine (
  qid INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL,
  change TEXT NOT NULL
);
CREATE INDEX crdt_quarantine_wall ON crdt_quarantine(wall_ms);

-- Small settings: this site's id, the clock's persisted ceiling, sync cursors.
CREATE TABLE crdt_state (
  key TEXT PRIMARY KEY,
  value
) WITHOUT ROWID;

-- Changes the sync server refused, kept for the app to show ("this edit was
-- not accepted", with the reason). Keyed by the outbox mark of the refused
-- batch, so a batch sent again after a cut records nothing twice.
CREATE TABLE sync_rejection (
  batch_mark INTEGER NOT NULL,
  tbl TEXT NOT NULL,
  id BLOB NOT NULL,
  code TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (batch_mark, tbl, id, code)
) WITHOUT ROWID;
