-- Query indexes of the replicated tables.
CREATE INDEX item_community ON item(community, status);
CREATE INDEX skill_community ON skill(community);
CREATE INDEX need_community ON need(community);
CREATE INDEX item_request_item ON item_request(item_id);
CREATE INDEX request_outcome_item ON request_outcome(item_id);
CREATE INDEX handover_item ON handover(item_id);
CREATE INDEX station_report_station ON station_report(station_id, expires_at);
CREATE INDEX station_checkin_station ON station_checkin(station_id);
