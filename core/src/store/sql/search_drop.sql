-- The phone's query indexes (search.sql; and the full-text tables phones
-- kept in this file before the index moved to its own file) removed from a
-- file opened as the sync server's store (StoreRole::Server), which never
-- reads them. Triggers first: they name the tables dropped after them. The
-- station's `amenity_mask` column goes too (schema.rs, once its triggers
-- are gone). Only derived data: every row and its merge metadata stay.
DROP TRIGGER IF EXISTS station_amenity_mask_insert;
DROP TRIGGER IF EXISTS station_amenity_mask_update;
DROP TRIGGER IF EXISTS station_geo_insert;
DROP TRIGGER IF EXISTS station_geo_update;
DROP TRIGGER IF EXISTS station_geo_delete;
DROP TRIGGER IF EXISTS item_fts_insert;
DROP TRIGGER IF EXISTS item_fts_update;
DROP TRIGGER IF EXISTS item_fts_delete;
DROP TRIGGER IF EXISTS skill_fts_insert;
DROP TRIGGER IF EXISTS skill_fts_update;
DROP TRIGGER IF EXISTS skill_fts_delete;
DROP TRIGGER IF EXISTS need_fts_insert;
DROP TRIGGER IF EXISTS need_fts_update;
DROP TRIGGER IF EXISTS need_fts_delete;
DROP TRIGGER IF EXISTS item_search_insert;
DROP TRIGGER IF EXISTS item_search_update;
DROP TRIGGER IF EXISTS item_search_delete;
DROP TRIGGER IF EXISTS skill_search_insert;
DROP TRIGGER IF EXISTS skill_search_update;
DROP TRIGGER IF EXISTS skill_search_delete;
DROP TRIGGER IF EXISTS need_search_insert;
DROP TRIGGER IF EXISTS need_search_update;
DROP TRIGGER IF EXISTS need_search_delete;

DROP TABLE IF EXISTS station_geo;
DROP TABLE IF EXISTS item_fts;
DROP TABLE IF EXISTS skill_fts;
DROP TABLE IF EXISTS need_fts;
DROP TABLE IF EXISTS search_pending;
DROP TABLE IF EXISTS search_mark;

DROP INDEX IF EXISTS item_created;
DROP INDEX IF EXISTS skill_created;
DROP INDEX IF EXISTS need_owner;
DROP INDEX IF EXISTS item_request_created;
DROP INDEX IF EXISTS handover_created;
DROP INDEX IF EXISTS station_report_created;
DROP INDEX IF EXISTS station_checkin_created;
DROP INDEX IF EXISTS skill_session_created;
DROP INDEX IF EXISTS skill_session_skill;
