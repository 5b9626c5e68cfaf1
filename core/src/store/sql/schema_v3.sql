-- Schema version 3 of the replicated tables, frozen (never edited): a
-- year's public holidays and make-up working days, published by an admin
-- for the whole city, so that phones learn next year's schedule by sync
-- rather than by an app update. Append-only records; the newest per year
-- counts. Phones of schema 1 and 2 are sent none of it.

CREATE TABLE holiday_calendar (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  by_user TEXT,
  year INTEGER,
  holidays TEXT,
  community TEXT,
  created_at INTEGER,
  _clk BLOB NOT NULL,
  _seq INTEGER NOT NULL
);
CREATE INDEX holiday_calendar_seq ON holiday_calendar(_seq);
