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

/// Invite redemptions, which need no token: per address and per code, a
/// few a minute. With 60-bit codes, an address guessing at this rate finds
/// one of a thousand live codes in about 2 × 10^8 years (2^60 / 1,000
/// guesses at 10 a minute).
#[derive(Debug)]
pub struct RedeemLimiter {
    by_address: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    by_code: DefaultKeyedRateLimiter<[u8; 32]>,
    clock: DefaultClock,
}

/// Redemptions a minute per address (with a burst of as many).
pub const REDEEM_PER_MINUTE_PER_ADDRESS: u32 = 10;
/// Redemptions a minute per code.
pub const REDEEM_PER_MINUTE_PER_CODE: u32 = 5;

impl Default for RedeemLimiter {
    fn default() -> Self {
        RedeemLimiter::new(REDEEM_PER_MINUTE_PER_ADDRESS, REDEEM_PER_MINUTE_PER_CODE)
    }
}

impl RedeemLimiter {
    /// `per_address` and `per_code` attempts a minute (each at least 1).
    pub fn new(per_address: u32, per_code: u32) -> RedeemLimiter {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        RedeemLimiter {
            by_address: governor::RateLimiter::keyed(quota(per_address)),
            by_code: governor::RateLimiter::keyed(quota(per_code)),
            clock: DefaultClock::default(),
        }
    }

    fn refused(&self, not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> ApiError {
        let wait = not_until.wait_time_from(self.clock.now());
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many invite attempts; try again later",
        );
        e.retry_after = Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1));
        e
    }

    /// Count one attempt from `address`.
    pub fn check_address(&self, address: std::net::IpAddr) -> Result<(), ApiError> {
        self.by_address
            .check_key(&address)
            .map_err(|n| self.refused(n))
    }

    /// Count one attempt at the code with this hash.
    pub fn check_code(&self, code: &[u8; 32]) -> Result<(), ApiError> {
        self.by_code.check_key(code).map_err(|n| self.refused(n))
    }

    /// Forget keys back to a full burst.
    pub fn forget_idle(&self) {
        self.by_address.retain_recent();
        self.by_code.retain_recent();
    }
}
