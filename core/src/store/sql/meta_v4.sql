-- Metadata version 4: photos.

-- The photo files kept beside a phone's store, in the folder `<db>.photos/`
-- (named `<hash>` for the full photo, `<hash>.thumb` for the server's
-- thumbnail): one row a file. The bytes are files, not rows, so that
-- erasing a photo is removing its file: no copy lingers in free database
-- pages or the WAL. The server keeps its own photo store.
-- size: 0 thumbnail, 1 full photo.
-- state: 0 this phone's own photo, not uploaded yet (never evicted);
--        1 own photo, uploaded; 2 downloaded into the cache.
-- last_viewed: Unix ms of the last time the app showed it (eviction order).
CREATE TABLE photo_file (
  hash TEXT NOT NULL,
  size INTEGER NOT NULL,
  state INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  last_viewed INTEGER NOT NULL,
  PRIMARY KEY (hash, size)
) WITHOUT ROWID;
CREATE INDEX photo_file_viewed ON photo_file(state, last_viewed);

-- Photos a listing uses that the server said are on their way (referenced
-- but not uploaded yet by their owner), and when it said so.
CREATE TABLE photo_awaited (
  hash TEXT PRIMARY KEY,
  checked_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Present set elements by value: which listings use a photo (the server
-- asks on every photo request).
CREATE INDEX crdt_tag_elem ON crdt_tag(tbl, col, elem) WHERE removed = 0;
