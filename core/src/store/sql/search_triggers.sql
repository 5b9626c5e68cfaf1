-- The triggers that note a changed or removed listing for the full-text
-- index, and bring a kind's mark down when a listing leaves its table
-- (search_pending.sql says why).
CREATE TRIGGER item_search_update
AFTER UPDATE OF title, description, swap_for, pickup_area, tags, category, deleted ON item BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (0, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER item_search_delete AFTER DELETE ON item BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (0, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
  UPDATE search_mark SET rid = (SELECT coalesce(max(rid), 0) FROM item)
    WHERE kind = 0 AND rid > (SELECT coalesce(max(rid), 0) FROM item);
END;

CREATE TRIGGER skill_search_update
AFTER UPDATE OF title, description, availability, category, deleted ON skill BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (1, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER skill_search_delete AFTER DELETE ON skill BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (1, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
  UPDATE search_mark SET rid = (SELECT coalesce(max(rid), 0) FROM skill)
    WHERE kind = 1 AND rid > (SELECT coalesce(max(rid), 0) FROM skill);
END;

CREATE TRIGGER need_search_update
AFTER UPDATE OF title, description, category, deleted ON need BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (2, new.rid) ON CONFLICT DO UPDATE SET v = v + 1;
END;
CREATE TRIGGER need_search_delete AFTER DELETE ON need BEGIN
  INSERT INTO search_pending (kind, rid) VALUES (2, old.rid) ON CONFLICT DO UPDATE SET v = v + 1;
  UPDATE search_mark SET rid = (SELECT coalesce(max(rid), 0) FROM need)
    WHERE kind = 2 AND rid > (SELECT coalesce(max(rid), 0) FROM need);
END;
