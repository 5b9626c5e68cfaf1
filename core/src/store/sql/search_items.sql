-- The benchmark's plain-SQLite baseline only (feature `bench-baseline`):
-- the same full text of idle items as the store's index file
-- (search_index.sql: the same tokens, tokenizer and detail), kept in the
-- same file by triggers, as a plain app would do it.
CREATE VIRTUAL TABLE item_fts USING fts5(
  title, body, content='', contentless_delete=1, detail=column, tokenize='ascii'
);

CREATE TRIGGER item_fts_insert AFTER INSERT ON item WHEN new.deleted = 0
BEGIN
  INSERT INTO item_fts (rowid, title, body) VALUES (
    new.rid, fushi_tokens(new.title),
    fushi_tokens(new.description, new.swap_for, new.pickup_area, fushi_label('item', new.category)));
END;
CREATE TRIGGER item_fts_update
AFTER UPDATE OF title, description, swap_for, pickup_area, category, deleted ON item
BEGIN
  DELETE FROM item_fts WHERE rowid = old.rid;
  INSERT INTO item_fts (rowid, title, body)
    SELECT new.rid, fushi_tokens(new.title),
      fushi_tokens(new.description, new.swap_for, new.pickup_area, fushi_label('item', new.category))
    WHERE new.deleted = 0;
END;
CREATE TRIGGER item_fts_delete AFTER DELETE ON item
BEGIN
  DELETE FROM item_fts WHERE rowid = old.rid;
END;
