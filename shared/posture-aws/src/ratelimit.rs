//! Client-side token buckets, one per service, at the rates of seed 000
//! (Security Hub 10/s, GuardDuty 20/s), so a burst of tool calls never
//! provokes throttling that the SDK would then have to retry.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Security Hub requests per second.
pub const SECURITY_HUB_RPS: u32 = 10;
/// GuardDuty requests per second.
pub const GUARDDUTY_RPS: u32 = 20;

/// A shared token bucket.
#[derive(Clone)]
pub struct Limiter(Arc<DefaultDirectRateLimiter>);

impl Limiter {
    /// `per_second` requests per second with a burst of the same size.
    pub fn per_second(per_second: u32) -> Limiter {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        Limiter(Arc::new(RateLimiter::direct(Quota::per_second(rate))))
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        self.0.until_ready().await;
    }
}
