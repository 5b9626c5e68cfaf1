-- The full-text index, in its own file beside the store (`<db>.search`,
-- attached as `s`): contentless FTS5 tables, rowid = the listing's rid,
-- tokens from fushi_tokens (search/tokens.rs: pairs of characters of the
-- folded text), FTS5's `ascii` tokenizer (splits only on the spaces put
-- there). detail=column: which column a token is in (title outranks the
-- rest), no positions (no query needs them). Derived data: deleted or
-- damaged, it is built again from the listings.
CREATE TABLE search_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
-- The listings in the index (kind 0 item, 1 skill, 2 need): an update
-- removes a listing's old tokens only when it has some.
CREATE TABLE indexed (kind INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (kind, rid)) WITHOUT ROWID;
CREATE VIRTUAL TABLE item_fts USING fts5(
  title, body, content='', contentless_delete=1, detail=column, tokenize='ascii'
);
CREATE VIRTUAL TABLE skill_fts USING fts5(
  title, body, content='', contentless_delete=1, detail=column, tokenize='ascii'
);
CREATE VIRTUAL TABLE need_fts USING fts5(
  title, body, content='', contentless_delete=1, detail=column, tokenize='ascii'
);
-- How many bytes of terms each gathers in memory before writing them out
-- is set by search_index.rs (HASH_BYTES) right after this.
