-- A phone's file whose new listings were each noted in `search_pending` by
-- an insert trigger (phone indexes 2): the insert triggers go, new
-- listings are found above `search_mark` (search_pending.sql), which
-- starts at each table's largest `rid` (every listing there now is either
-- indexed or still noted). The delete triggers are made again with the
-- step that brings the mark down.
DROP TRIGGER IF EXISTS item_search_insert;
DROP TRIGGER IF EXISTS skill_search_insert;
DROP TRIGGER IF EXISTS need_search_insert;
DROP TRIGGER IF EXISTS item_search_delete;
DROP TRIGGER IF EXISTS skill_search_delete;
DROP TRIGGER IF EXISTS need_search_delete;
CREATE TABLE search_mark (kind INTEGER PRIMARY KEY, rid INTEGER NOT NULL);
INSERT INTO search_mark (kind, rid) VALUES
  (0, (SELECT coalesce(max(rid), 0) FROM item)),
  (1, (SELECT coalesce(max(rid), 0) FROM skill)),
  (2, (SELECT coalesce(max(rid), 0) FROM need));
CREATE TRIGGER item_search_delete AFTER DELETE ON item BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (0, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
  UPDATE search_mark SET rid = (SELECT coalesce(max(rid), 0) FROM item)
    WHERE kind = 0 AND rid > (SELECT coalesce(max(rid), 0) FROM item);
END;
CREATE TRIGGER skill_search_delete AFTER DELETE ON skill BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (1, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
  UPDATE search_mark SET rid = (SELECT coalesce(max(rid), 0) FROM skill)
    WHERE kind = 1 AND rid > (SELECT coalesce(max(rid), 0) FROM skill);
END;
CREATE TRIGGER need_search_delete AFTER DELETE ON need BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (2, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
  UPDATE search_mark SET rid = (SELECT coalesce(max(rid), 0) FROM need)
    WHERE kind = 2 AND rid > (SELECT coalesce(max(rid), 0) FROM need);
END;
