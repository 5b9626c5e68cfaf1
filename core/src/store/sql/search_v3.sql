-- A phone's file whose new listings were each noted in `search_pending` by
-- an insert trigger (phone indexes 2): its triggers go (search_triggers.sql
-- makes the update and delete ones again, the delete ones with the step
-- that brings a mark down), and new listings are found above
-- `search_mark` (search_pending.sql), which starts at each table's largest
-- `rid`: every listing there now is either indexed or still noted.
DROP TRIGGER IF EXISTS item_search_insert;
DROP TRIGGER IF EXISTS item_search_update;
DROP TRIGGER IF EXISTS item_search_delete;
DROP TRIGGER IF EXISTS skill_search_insert;
DROP TRIGGER IF EXISTS skill_search_update;
DROP TRIGGER IF EXISTS skill_search_delete;
DROP TRIGGER IF EXISTS need_search_insert;
DROP TRIGGER IF EXISTS need_search_update;
DROP TRIGGER IF EXISTS need_search_delete;
CREATE TABLE search_mark (kind INTEGER PRIMARY KEY, rid INTEGER NOT NULL);
INSERT INTO search_mark (kind, rid) VALUES
  (0, (SELECT coalesce(max(rid), 0) FROM item)),
  (1, (SELECT coalesce(max(rid), 0) FROM skill)),
  (2, (SELECT coalesce(max(rid), 0) FROM need));
