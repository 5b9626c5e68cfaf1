//! Hybrid logical clock: wall time in milliseconds plus a counter, one per site.
//!
//! A clock value packs 48 bits of Unix milliseconds and a 16-bit counter into a
//! `u64`, so clocks compare as integers. Every local write takes a fresh value
//! greater than anything the site has seen; every received change moves the
//! clock forward (after the skew check in [`crate::crdt::skew`]).

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A hybrid logical clock value.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Hlc(pub u64);

impl Hlc {
    /// The zero clock: older than every real write.
    pub const ZERO: Hlc = Hlc(0);

    /// A clock at `wall_ms` with counter `counter`.
    pub fn new(wall_ms: i64, counter: u16) -> Hlc {
        let ms = wall_ms.clamp(0, (1i64 << 48) - 1) as u64;
        Hlc((ms << 16) | u64::from(counter))
    }

    /// The wall-time part in Unix milliseconds.
    pub fn wall_ms(self) -> i64 {
        (self.0 >> 16) as i64
    }

    /// The counter part.
    pub fn counter(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }

    /// The next clock for a local event: later than `self` and not earlier than `now_ms`.
    pub fn tick(self, now_ms: i64) -> Hlc {
        let physical = Hlc::new(now_ms, 0);
        if physical > self {
            physical
        } else {
            // Counter overflow carries into the millisecond part, which keeps
            // the value strictly increasing.
            Hlc(self.0.saturating_add(1))
        }
    }
}

/// Where the current time comes from. Tests and the sync client substitute
/// their own (a fixed clock, or the system clock corrected by the server's offset).
pub trait TimeSource: Send + Sync + std::fmt::Debug {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system clock plus an offset (milliseconds) learned from the sync server.
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_ms: AtomicI64,
}

impl SystemClock {
    /// The system clock with no correction.
    pub fn new() -> Arc<SystemClock> {
        Arc::new(SystemClock::default())
    }

    /// Set the correction added to the system clock.
    pub fn set_offset_ms(&self, offset: i64) {
        self.offset_ms.store(offset, Ordering::Relaxed);
    }

    /// The current correction.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

impl TimeSource for SystemClock {
    fn now_ms(&self) -> i64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        sys.saturating_add(self.offset_ms())
    }
}

/// A settable clock for tests, demos and benchmarks.
#[derive(Debug)]
pub struct ManualTime {
    now: AtomicI64,
}

impl ManualTime {
    /// A clock reading `now_ms` until changed.
    pub fn new(now_ms: i64) -> Arc<ManualTime> {
        Arc::new(ManualTime {
            now: AtomicI64::new(now_ms),
        })
    }

    /// Set the time.
    pub fn set(&self, now_ms: i64) {
        self.now.store(now_ms, Ordering::Relaxed);
    }

    /// Move the time forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::Relaxed);
    }
}

impl TimeSource for ManualTime {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_is_strictly_increasing_even_when_wall_time_stalls_or_goes_back() {
        let mut c = Hlc::ZERO;
        let mut seen = Vec::new();
        for now in [1000, 1000, 1000, 999, 500, 1001, 1001] {
            let n = c.tick(now);
            assert!(n > c);
            c = n;
            seen.push(c);
        }
        assert_eq!(seen[0], Hlc::new(1000, 0));
        assert_eq!(seen[2], Hlc::new(1000, 2));
        assert_eq!(seen[4], Hlc::new(1000, 4));
        assert_eq!(seen[5], Hlc::new(1001, 0));
    }

    #[test]
    fn counter_overflow_carries_into_milliseconds() {
        let c = Hlc::new(5, u16::MAX);
        let n = c.tick(0);
        assert_eq!(n, Hlc::new(6, 0));
    }

    #[test]
    fn parts_round_trip() {
        let c = Hlc::new(1_764_000_000_000, 42);
        assert_eq!(c.wall_ms(), 1_764_000_000_000);
        assert_eq!(c.counter(), 42);
    }
}
