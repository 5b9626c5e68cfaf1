-- Full text: which listings the index has yet to take. The full-text index
-- itself lives in a file of its own beside this one (`<db>.search`,
-- store/search_index.rs), built in the background in large transactions
-- that never hold this file's writer. Searches read the index for the
-- listings it holds as they stand and scan just the rest.
--
-- New listings are not noted one by one: a listing's `rid` is one above
-- the largest in its table, so the listings the index has yet to take are
-- those above the last `rid` it took (`search_mark`). A first sync, nearly
-- all inserts, so applies at the merge's own speed. A removed listing
-- brings the mark down to its table's largest `rid` (there is nothing
-- above it to take again), so a later listing given the same `rid` is
-- above the mark.
--
-- A listing's text changed, or a listing removed from its table (a row the
-- server refused, dropped from the phone), is noted in `search_pending`.
-- kind: 0 item, 1 skill, 2 need. v counts changes while it waits, so the
-- indexer clears only the entries it has indexed as they stand. The
-- triggers that note them: search_triggers.sql.
CREATE TABLE search_mark (kind INTEGER PRIMARY KEY, rid INTEGER NOT NULL);
INSERT INTO search_mark (kind, rid) VALUES (0, 0), (1, 0), (2, 0);
CREATE TABLE search_pending (
  kind INTEGER NOT NULL,
  rid INTEGER NOT NULL,
  v INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, rid)
) WITHOUT ROWID;
