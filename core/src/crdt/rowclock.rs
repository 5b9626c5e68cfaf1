//! The packed per-row clock vector.
//!
//! cr-sqlite keeps one metadata row per cell; we keep one small blob per row.
//! Each column's entry is the stamp of the write that set it (clock and the
//! site's small local integer) and the local sequence number at which the cell
//! last changed here (the outbox on a phone, the pull cursor on the server).
//!
//! Encoding, per column in schema order:
//! - `0`: never written;
//! - `1`: same clock, site and sequence as the previous written column;
//! - `2`, then LEB128 varints: clock, site, and `row_seq - seq` (row_seq is the
//!   largest sequence of the row, kept in its own indexed column).
//!
//! A freshly posted row costs 12 bytes for its first column and one byte
//! for each further column.

use crate::crdt::Hlc;

/// One cell's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellMeta {
    /// The winning write's clock.
    pub clock: Hlc,
    /// The winning write's site, as this database's small integer.
    pub site: u32,
    /// The local sequence number at which this cell last changed here.
    pub seq: i64,
}

/// Metadata for every column of one row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowClocks {
    /// One entry per column, in schema order; `None` if never written.
    pub cells: Vec<Option<CellMeta>>,
}

/// The blob could not be decoded (a damaged database).
#[derive(Debug, thiserror::Error)]
#[error("damaged row clock metadata: {0}")]
pub struct DecodeError(pub &'static str);

impl RowClocks {
    /// Metadata for a row of `ncols` columns, none written.
    pub fn empty(ncols: usize) -> RowClocks {
        RowClocks {
            cells: vec![None; ncols],
        }
    }

    /// The largest sequence number of any cell (0 if none).
    pub fn row_seq(&self) -> i64 {
        self.cells
            .iter()
            .flatten()
            .map(|c| c.seq)
            .max()
            .unwrap_or(0)
    }

    /// Encode to the packed form, for a row whose sequence number is the
    /// largest of its cells.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_at(self.row_seq())
    }

    /// Encode for a row whose sequence number is `row_seq`, which may be
    /// above every cell's (never below): a phone keeps a row's number when a
    /// received value replaces its newest local cell, so the row stays in
    /// the outbox until its other unsent cells have gone.
    pub fn encode_at(&self, row_seq: i64) -> Vec<u8> {
        let row_seq = row_seq.max(self.row_seq());
        let mut out = Vec::with_capacity(16 + self.cells.len());
        let mut prev: Option<CellMeta> = None;
        for cell in &self.cells {
            match cell {
                None => out.push(0),
                Some(c) if prev == Some(*c) => out.push(1),
                Some(c) => {
                    out.push(2);
                    put_varint(&mut out, c.clock.0);
                    put_varint(&mut out, u64::from(c.site));
                    put_varint(&mut out, (row_seq - c.seq).max(0) as u64);
                    prev = Some(*c);
                }
            }
        }
        out
    }

    /// Decode a blob for a table of `ncols` columns. Columns added to the
    /// schema after the row was written decode as never written.
    pub fn decode(blob: &[u8], ncols: usize, row_seq: i64) -> Result<RowClocks, DecodeError> {
        let mut cells = Vec::with_capacity(ncols);
        let mut pos = 0usize;
        let mut prev: Option<CellMeta> = None;
        while pos < blob.len() {
            let tag = blob[pos];
            pos += 1;
            match tag {
                0 => cells.push(None),
                1 => {
                    let p = prev.ok_or(DecodeError("repeat without a previous cell"))?;
                    cells.push(Some(p));
                }
                2 => {
                    let clock = get_varint(blob, &mut pos)?;
                    let site = get_varint(blob, &mut pos)?;
                    let back = get_varint(blob, &mut pos)?;
                    let site = u32::try_from(site).map_err(|_| DecodeError("site out of range"))?;
                    let back =
                        i64::try_from(back).map_err(|_| DecodeError("sequence out of range"))?;
                    let c = CellMeta {
                        clock: Hlc(clock),
                        site,
                        seq: row_seq - back,
                    };
                    cells.push(Some(c));
                    prev = Some(c);
                }
                _ => return Err(DecodeError("unknown cell tag")),
            }
        }
        if cells.len() > ncols {
            return Err(DecodeError("more cells than columns"));
        }
        cells.resize(ncols, None);
        Ok(RowClocks { cells })
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> Result<u64, DecodeError> {
    let mut v: u64 = 0;
    let mut shift = 0u32;
    loop {
        let b = *buf.get(*pos).ok_or(DecodeError("truncated varint"))?;
        *pos += 1;
        if shift >= 64 {
            return Err(DecodeError("varint too long"));
        }
        v |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_fresh_row_is_small() {
        let c = CellMeta {
            clock: Hlc::new(1_764_000_000_000, 3),
            site: 1,
            seq: 100_000,
        };
        let rc = RowClocks {
            cells: vec![Some(c); 18],
        };
        let blob = rc.encode();
        // tag + 9-byte clock varint + site + sequence delta, then one byte per column.
        assert_eq!(blob.len(), 1 + 9 + 1 + 1 + 17, "{} bytes", blob.len());
        assert_eq!(RowClocks::decode(&blob, 18, rc.row_seq()).unwrap(), rc);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for blob in [&[7u8][..], &[1], &[2, 0xFF], &[2, 1, 1]] {
            assert!(RowClocks::decode(blob, 4, 10).is_err());
        }
        assert!(RowClocks::decode(&[0, 0, 0], 2, 0).is_err());
    }

    #[test]
    fn new_columns_decode_as_unwritten() {
        let rc = RowClocks {
            cells: vec![Some(CellMeta {
                clock: Hlc(9),
                site: 2,
                seq: 4,
            })],
        };
        let d = RowClocks::decode(&rc.encode(), 3, 4).unwrap();
        assert_eq!(d.cells.len(), 3);
        assert_eq!(d.cells[2], None);
    }

    #[test]
    fn a_row_numbered_above_its_cells_decodes_its_cells() {
        let rc = RowClocks {
            cells: vec![
                Some(CellMeta {
                    clock: Hlc(9),
                    site: 2,
                    seq: 4,
                }),
                Some(CellMeta {
                    clock: Hlc(11),
                    site: 0,
                    seq: 0,
                }),
            ],
        };
        assert_eq!(RowClocks::decode(&rc.encode_at(90), 2, 90).unwrap(), rc);
    }

    proptest! {
        #[test]
        fn round_trip(cells in proptest::collection::vec(
            proptest::option::of((any::<u64>(), 0u32..5000, 0i64..1_000_000)), 0..24)) {
            let rc = RowClocks { cells: cells.iter().map(|c| c.map(|(clock, site, seq)|
                CellMeta { clock: Hlc(clock), site, seq })).collect() };
            let d = RowClocks::decode(&rc.encode(), rc.cells.len(), rc.row_seq()).unwrap();
            prop_assert_eq!(d, rc);
        }
    }
}
