//! When the sync client sends a request again: exponential backoff with full
//! jitter for transient failures, `Retry-After` honoured (capped).
//!
//! Every request of the protocol may be sent twice: pull and health are
//! reads, and a push the server already applied is accepted again as a
//! no-op (`docs/PROTOCOL.md`, "`POST /v1/push`").

use std::time::{Duration, SystemTime};

/// How often, and after how long, a request that failed transiently (no
/// connection, connection reset, timeout, 5xx, 429) is sent again. Other
/// 4xx answers and certificate errors are never retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends of one request at most, the first included (1: no retry).
    /// Default 5.
    pub max_attempts: u32,
    /// The first retry waits up to this; each further one up to twice the
    /// previous bound (full jitter: a random time between zero and the
    /// bound). Default 500 ms.
    pub base_delay: Duration,
    /// No wait is longer than this, a server's `Retry-After` included.
    /// Default 30 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Send each request once: a failure is reported at once.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first), given the
    /// server's `Retry-After` if it sent one, and `random` bits for the jitter.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>, random: u64) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exp = retry.saturating_sub(1).min(31);
        let bound = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let bound_ms = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
        match bound_ms.checked_add(1) {
            Some(span) => Duration::from_millis(random % span),
            None => bound,
        }
    }
}

/// Random bits for the jitter (from the OS generator behind UUID v4).
pub(crate) fn jitter_bits() -> u64 {
    let bits = uuid::Uuid::new_v4().as_u128();
    (bits as u64) ^ ((bits >> 64) as u64)
}

/// A `Retry-After` value: seconds, or an HTTP date (then the time until it,
/// zero if it has passed). `None` if it is neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(at.timestamp_millis()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_the_bound_and_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
        };
        // The largest random value reaches the bound exactly.
        assert_eq!(p.delay(1, None, 100), Duration::from_millis(100));
        assert_eq!(p.delay(2, None, 200), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 400), Duration::from_millis(400));
        assert_eq!(p.delay(9, None, 1_000), Duration::from_millis(1_000));
        assert_eq!(p.delay(40, None, 1_000), Duration::from_millis(1_000));
        for r in [0, 1, 7, u64::MAX, jitter_bits()] {
            assert!(p.delay(3, None, r) <= Duration::from_millis(400));
            assert!(p.delay(30, None, r) <= Duration::from_millis(1_000));
        }
        assert_eq!(p.delay(1, None, 0), Duration::ZERO);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2)), 0),
            Duration::from_secs(2)
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(3_600)), 0), p.max_delay);
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        // RFC 9110's example date, 7 s after `now`.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
