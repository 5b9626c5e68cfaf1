//! Per-token rate limiting: each valid token may make so many requests a
//! second, with a burst; beyond that the answer is 429 `rate_limited` with
//! `Retry-After`. GCRA from the `governor` crate, keyed by the token's hash.

use crate::error::ApiError;
use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;

/// Requests per token.
#[derive(Debug)]
pub struct TokenLimiter {
    limiter: DefaultKeyedRateLimiter<[u8; 32]>,
    clock: DefaultClock,
}

impl TokenLimiter {
    /// `per_second` requests a second, up to `burst` at once (each at
    /// least 1).
    pub fn new(per_second: u32, burst: u32) -> TokenLimiter {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        TokenLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// Count one request of the token `key`; 429 with `Retry-After` when
    /// over its rate.
    pub fn check(&self, key: &[u8; 32]) -> Result<(), ApiError> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests with this token; try again later",
            );
            e.retry_after = Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1));
            e
        })
    }

    /// Forget tokens that are back to a full burst (memory stays bounded by
    /// the tokens active recently).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
