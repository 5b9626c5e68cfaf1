-- Schema version 2 of the replicated tables, frozen (never edited): items
-- get tags ("可议价", "需自提"), an add-wins set like photos. The column is
-- appended, so a row's packed clocks written by v1 read as "never written"
-- for it. A phone of schema 1 neither sends nor receives it; a phone that
-- upgrades from 1 receives the tags it missed (`sync.pulled_schema`).

ALTER TABLE item ADD COLUMN tags TEXT;
