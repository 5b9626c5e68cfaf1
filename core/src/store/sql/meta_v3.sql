-- Metadata version 3: no poison pills.

-- Received rows this version of the app cannot read (a value that a newer
-- version allows and this one's validation refuses): kept rather than
-- failing the page they came in, and applied once an upgraded app can read
-- them. `held_by` is the core version that could not read the row, so a
-- row is tried again only after an upgrade.
CREATE TABLE sync_unreadable (
  uid INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  held_by TEXT NOT NULL,
  change TEXT NOT NULL
);
