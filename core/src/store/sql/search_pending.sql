-- Full text: the listings to (re)index. The full-text index itself lives in
-- a file of its own beside this one (`<db>.search`, store/search_index.rs),
-- built in the background in large transactions that never hold this file's
-- writer. The triggers here only note which listing changed, so a sync
-- applies its rows at full speed and the listings are usable at once;
-- searches read the index for the rest and scan just these rows.
-- kind: 0 item, 1 skill, 2 need. v counts changes while it waits, so the
-- indexer removes only the entries it has indexed as they stand.
CREATE TABLE search_pending (
  kind INTEGER NOT NULL,
  rid INTEGER NOT NULL,
  v INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, rid)
) WITHOUT ROWID;

CREATE TRIGGER item_search_insert AFTER INSERT ON item BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (0, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER item_search_update
AFTER UPDATE OF title, description, swap_for, pickup_area, tags, category, deleted ON item BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (0, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER item_search_delete AFTER DELETE ON item BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (0, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;

CREATE TRIGGER skill_search_insert AFTER INSERT ON skill BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (1, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER skill_search_update
AFTER UPDATE OF title, description, availability, category, deleted ON skill BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (1, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER skill_search_delete AFTER DELETE ON skill BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (1, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;

CREATE TRIGGER need_search_insert AFTER INSERT ON need BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (2, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER need_search_update
AFTER UPDATE OF title, description, category, deleted ON need BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (2, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER need_search_delete AFTER DELETE ON need BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (2, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
