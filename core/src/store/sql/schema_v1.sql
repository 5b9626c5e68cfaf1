-- Schema version 1 of the replicated tables, frozen: the tables every phone
-- and the server agree on (`user_version` 1, sent as `Fushi-Schema: 1`).
-- Never edit this file: a new column or table is a new numbered migration
-- (`schema_v2.sql`, …) run after it. Each row keeps its packed clocks (`_clk`)
-- and its sequence number (`_seq`, the outbox mark / the server's order).

CREATE TABLE item (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  owner TEXT,
  community TEXT,
  created_at INTEGER,
  title TEXT,
  description TEXT,
  category TEXT,
  condition TEXT,
  mode TEXT,
  status TEXT,
  pickup_area TEXT,
  lat REAL,
  lon REAL,
  expires_at INTEGER,
  photos TEXT,
  swap_for TEXT,
  reserved_for TEXT,
  hidden INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX item_seq ON item(_seq);
CREATE TABLE station (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  owner TEXT,
  community TEXT,
  created_at INTEGER,
  name TEXT,
  address TEXT,
  lat REAL,
  lon REAL,
  kind TEXT,
  amenities TEXT,
  opening_hours TEXT,
  host_org TEXT,
  contact TEXT,
  note TEXT,
  hidden INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX station_seq ON station(_seq);
CREATE TABLE skill (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  owner TEXT,
  community TEXT,
  created_at INTEGER,
  title TEXT,
  description TEXT,
  category TEXT,
  availability TEXT,
  status TEXT,
  lat REAL,
  lon REAL,
  hidden INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX skill_seq ON skill(_seq);
CREATE TABLE need (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  owner TEXT,
  community TEXT,
  created_at INTEGER,
  title TEXT,
  description TEXT,
  want TEXT,
  category TEXT,
  status TEXT,
  lat REAL,
  lon REAL,
  hidden INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX need_seq ON need(_seq);
CREATE TABLE item_request (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  item_id TEXT,
  requester TEXT,
  community TEXT,
  created_at INTEGER,
  note TEXT,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX item_request_seq ON item_request(_seq);
CREATE TABLE request_outcome (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  request_id TEXT,
  item_id TEXT,
  by_user TEXT,
  outcome TEXT,
  community TEXT,
  created_at INTEGER,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX request_outcome_seq ON request_outcome(_seq);
CREATE TABLE station_report (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  station_id TEXT,
  kind TEXT,
  note TEXT,
  community TEXT,
  created_at INTEGER,
  expires_at INTEGER,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX station_report_seq ON station_report(_seq);
CREATE TABLE station_checkin (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  station_id TEXT,
  community TEXT,
  created_at INTEGER,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX station_checkin_seq ON station_checkin(_seq);
CREATE TABLE handover (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  item_id TEXT,
  request_id TEXT,
  by_user TEXT,
  side TEXT,
  community TEXT,
  created_at INTEGER,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX handover_seq ON handover(_seq);
CREATE TABLE skill_session (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  skill_id TEXT,
  provider TEXT,
  by_user TEXT,
  community TEXT,
  created_at INTEGER,
  note TEXT,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX skill_session_seq ON skill_session(_seq);
