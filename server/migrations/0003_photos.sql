-- Photo bytes (see server/src/postgres/photos.rs): each photo with its
-- thumbnail in one row, under the SHA-256 of its stripped bytes, so that
-- both are kept together or not at all. stored_at is Unix ms.
CREATE TABLE fushi_photo (
    hash bytea PRIMARY KEY CHECK (octet_length(hash) = 32),
    full_bytes bytea NOT NULL,
    thumb_bytes bytea NOT NULL,
    stored_at bigint NOT NULL
);
-- JPEG, PNG and WebP bytes do not compress: kept out of line as they are.
ALTER TABLE fushi_photo ALTER COLUMN full_bytes SET STORAGE EXTERNAL;
ALTER TABLE fushi_photo ALTER COLUMN thumb_bytes SET STORAGE EXTERNAL;
