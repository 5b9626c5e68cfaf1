-- Offline search: an R*Tree over station positions (the full text:
-- search_pending.sql).
--
-- Both are kept by triggers on the replicated tables, so every write path
-- (a local write, a remote apply, the server's checked apply) maintains them
-- without knowing they exist. The triggers call Rust functions registered on
-- every connection of the store (store/search.rs):
--   fushi_label(kind, code)  the Chinese label of a category code
--   fushi_amenity_mask(json) the bit mask of a station's amenities

-- Amenities as a bit mask (bit i = catalogue::AMENITIES[i]), derived from the
-- merged `amenities` set whenever it changes, so an amenity filter is one
-- AND on the row.
ALTER TABLE station ADD COLUMN amenity_mask INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER station_amenity_mask_insert AFTER INSERT ON station
WHEN new.amenities IS NOT NULL
BEGIN
  UPDATE station SET amenity_mask = fushi_amenity_mask(new.amenities) WHERE rid = new.rid;
END;

CREATE TRIGGER station_amenity_mask_update AFTER UPDATE OF amenities ON station
BEGIN
  UPDATE station SET amenity_mask = fushi_amenity_mask(new.amenities) WHERE rid = new.rid;
END;

-- Stations by position, keyed by the station's rid. Only live, visible
-- stations with a position are in it: hidden and deleted ones are never found.
-- R*Tree coordinates are 32-bit floats rounded outwards; the exact distance is
-- checked against the station row.
CREATE VIRTUAL TABLE station_geo USING rtree(rid, min_lat, max_lat, min_lon, max_lon);

CREATE TRIGGER station_geo_insert AFTER INSERT ON station
WHEN new.lat IS NOT NULL AND new.lon IS NOT NULL AND new.deleted = 0 AND new.hidden = 0
BEGIN
  INSERT OR REPLACE INTO station_geo VALUES (new.rid, new.lat, new.lat, new.lon, new.lon);
END;

CREATE TRIGGER station_geo_update AFTER UPDATE OF lat, lon, deleted, hidden ON station
BEGIN
  DELETE FROM station_geo WHERE rid = old.rid;
  INSERT INTO station_geo
    SELECT new.rid, new.lat, new.lat, new.lon, new.lon
    WHERE new.lat IS NOT NULL AND new.lon IS NOT NULL AND new.deleted = 0 AND new.hidden = 0;
END;

CREATE TRIGGER station_geo_delete AFTER DELETE ON station
BEGIN
  DELETE FROM station_geo WHERE rid = old.rid;
END;

-- Indexes of the offline queries: browsing by recency, a resident's needs,
-- grid staff figures by period.
CREATE INDEX item_created ON item(created_at);
CREATE INDEX skill_created ON skill(created_at);
CREATE INDEX need_owner ON need(owner, status);
CREATE INDEX item_request_created ON item_request(community, created_at);
CREATE INDEX handover_created ON handover(community, created_at);
CREATE INDEX station_report_created ON station_report(community, created_at);
CREATE INDEX station_checkin_created ON station_checkin(community, created_at);
CREATE INDEX skill_session_created ON skill_session(community, created_at);
CREATE INDEX skill_session_skill ON skill_session(skill_id);
