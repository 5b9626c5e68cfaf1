//! Photo bytes in PostgreSQL ([`PgPhotos`]), for server processes that
//! share one database: each photo and its thumbnail in one row of
//! `fushi_photo` (`server/migrations/0003_photos.sql`), under the SHA-256
//! of its stripped bytes, so that both are there together or not at all.

use super::{db_error, Pg};
use crate::photos::PhotoStore;
use fushi_core::photo::PhotoRef;
use fushi_core::store::PhotoSize;
use fushi_core::{Error, Result};
use std::sync::Arc;

/// Photos in a PostgreSQL database.
#[derive(Debug)]
pub struct PgPhotos {
    pg: Arc<Pg>,
}

impl PgPhotos {
    /// The photos of the database `pg` (its schema already migrated by
    /// [`Pg::connect`]).
    pub fn new(pg: Arc<Pg>) -> PgPhotos {
        PgPhotos { pg }
    }
}

/// Now, in Unix ms, from the system clock (as the folder store's file
/// times are).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn corrupt() -> Error {
    Error::Corrupt("photo store: a column of an unexpected type".into())
}

impl PhotoStore for PgPhotos {
    fn has(&self, r: &PhotoRef) -> Result<bool> {
        let hash = *r.bytes();
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let row = c
                .query_opt(
                    "SELECT 1 FROM fushi_photo WHERE hash = $1",
                    &[&hash.as_slice()],
                )
                .await
                .map_err(db_error("photos: has"))?;
            Ok(row.is_some())
        })
    }

    fn put(&self, r: &PhotoRef, full: &[u8], thumb: &[u8]) -> Result<()> {
        let (hash, full, thumb, at) = (*r.bytes(), full.to_vec(), thumb.to_vec(), now_ms());
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            // Content-addressed: a photo already kept is these bytes.
            c.execute(
                "INSERT INTO fushi_photo (hash, full_bytes, thumb_bytes, stored_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
                &[&hash.as_slice(), &full, &thumb, &at],
            )
            .await
            .map_err(db_error("photos: put"))?;
            Ok(())
        })
    }

    fn get(&self, r: &PhotoRef, size: PhotoSize) -> Result<Option<Vec<u8>>> {
        let hash = *r.bytes();
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let sql = match size {
                PhotoSize::Full => "SELECT full_bytes FROM fushi_photo WHERE hash = $1",
                PhotoSize::Thumb => "SELECT thumb_bytes FROM fushi_photo WHERE hash = $1",
            };
            let row = c
                .query_opt(sql, &[&hash.as_slice()])
                .await
                .map_err(db_error("photos: get"))?;
            row.map(|r| r.try_get::<_, Vec<u8>>(0).map_err(|_| corrupt()))
                .transpose()
        })
    }

    fn delete(&self, r: &PhotoRef) -> Result<()> {
        let hash = *r.bytes();
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            c.execute(
                "DELETE FROM fushi_photo WHERE hash = $1",
                &[&hash.as_slice()],
            )
            .await
            .map_err(db_error("photos: delete"))?;
            Ok(())
        })
    }

    fn list(&self) -> Result<Vec<(PhotoRef, i64)>> {
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let rows = c
                .query(
                    "SELECT encode(hash, 'hex'), stored_at FROM fushi_photo ORDER BY hash",
                    &[],
                )
                .await
                .map_err(db_error("photos: list"))?;
            rows.iter()
                .map(|row| {
                    let hex: &str = row.try_get(0).map_err(|_| corrupt())?;
                    let at: i64 = row.try_get(1).map_err(|_| corrupt())?;
                    Ok((PhotoRef::from_hex(hex)?, at))
                })
                .collect()
        })
    }
}
