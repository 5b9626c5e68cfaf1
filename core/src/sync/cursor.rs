//! The pull cursor: where a phone is in the server's feed, minted by the
//! server and opaque to the phone.
//!
//! It carries three numbers, written `<epoch>.<floor>.<after>`:
//! - `epoch`, the identity of the server's database (random, made when the
//!   database was created). A cursor from another database (the server's
//!   file was replaced, or restored from a backup with a new epoch) cannot
//!   be trusted to mean anything there, so the server starts such a phone
//!   over from zero, which the idempotent merge makes safe;
//! - `floor` and `after`, the [`Position`] of the page-through under way
//!   (see `store::changes` for why both are needed).
//!
//! `0` (or no cursor) is the start.

use crate::store::Position;
use crate::{Error, Result};

/// A parsed pull cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PullCursor {
    /// The server database's identity; 0 for the start.
    pub epoch: u64,
    /// Where the page-through is.
    pub pos: Position,
}

impl PullCursor {
    /// The start of the feed of the database with `epoch`.
    pub fn start(epoch: u64) -> PullCursor {
        PullCursor {
            epoch,
            pos: Position::default(),
        }
    }

    /// Parse the text form. `0` and the empty string are the start.
    pub fn parse(text: &str) -> Result<PullCursor> {
        let bad = || Error::invalid("cursor", "is not a cursor this server issued");
        if text.is_empty() || text == "0" {
            return Ok(PullCursor::default());
        }
        let mut parts = text.split('.');
        let (Some(epoch), Some(floor), Some(after), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let epoch = u64::from_str_radix(epoch, 16).map_err(|_| bad())?;
        let floor: i64 = floor.parse().map_err(|_| bad())?;
        let after: i64 = after.parse().map_err(|_| bad())?;
        if floor < 0 || after < floor {
            return Err(bad());
        }
        Ok(PullCursor {
            epoch,
            pos: Position { floor, after },
        })
    }

    /// Whether this is the start of a feed.
    pub fn is_start(&self) -> bool {
        self.pos == Position::default()
    }
}

impl std::fmt::Display for PullCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}.{}.{}", self.epoch, self.pos.floor, self.pos.after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_it_did_not_write() {
        let c = PullCursor {
            epoch: 0xdead_beef_0123,
            pos: Position {
                floor: 7,
                after: 4711,
            },
        };
        assert_eq!(PullCursor::parse(&c.to_string()).unwrap(), c);
        assert_eq!(PullCursor::parse("0").unwrap(), PullCursor::default());
        assert_eq!(PullCursor::parse("").unwrap(), PullCursor::default());
        for bad in ["12", "x.1.2", "1.2", "1.2.3.4", "1.-1.3", "1.5.3", "1.2.x"] {
            assert!(PullCursor::parse(bad).is_err(), "{bad}");
        }
    }
}
