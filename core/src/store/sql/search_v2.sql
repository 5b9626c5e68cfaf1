-- A phone's file from before the full-text index moved to its own file
-- (`<db>.search`): the in-file FTS5 tables and the triggers that kept them
-- go; search.sql's `search_pending` and its triggers replace them (created
-- after this, then filled with every listing). Only derived data.
DROP TRIGGER IF EXISTS item_fts_insert;
DROP TRIGGER IF EXISTS item_fts_update;
DROP TRIGGER IF EXISTS item_fts_delete;
DROP TRIGGER IF EXISTS skill_fts_insert;
DROP TRIGGER IF EXISTS skill_fts_update;
DROP TRIGGER IF EXISTS skill_fts_delete;
DROP TRIGGER IF EXISTS need_fts_insert;
DROP TRIGGER IF EXISTS need_fts_update;
DROP TRIGGER IF EXISTS need_fts_delete;
DROP TABLE IF EXISTS item_fts;
DROP TABLE IF EXISTS skill_fts;
DROP TABLE IF EXISTS need_fts;
