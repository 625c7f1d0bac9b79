//! Client-side token buckets at AWS's published API rate quotas, so reads
//! stay under them instead of provoking throttling that the SDK would then
//! have to retry. Each finding source holds one bucket: one per account and
//! Region, as the collector builds a source per account and Region and the
//! MCP server one per process.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;

/// An API rate quota: sustained requests per second, and the burst allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiQuota {
    /// Requests per second.
    pub per_second: u32,
    /// Requests allowed at once.
    pub burst: u32,
}

/// Security Hub `GetFindings`: 3 requests per second, burst 6, per account
/// and Region (Security Hub API Reference, Welcome: throttling limits).
pub const SECURITY_HUB_GET_FINDINGS: ApiQuota = ApiQuota {
    per_second: 3,
    burst: 6,
};

/// GuardDuty publishes no per-operation rate quota (its quotas page lists
/// resources only): a conservative 10 per second, no burst above that.
pub const GUARDDUTY_DEFAULT: ApiQuota = ApiQuota {
    per_second: 10,
    burst: 10,
};

/// A shared token bucket.
#[derive(Clone)]
pub struct Limiter(Arc<DefaultDirectRateLimiter>);

impl Limiter {
    /// A bucket refilled at `quota.per_second` holding at most `quota.burst`.
    pub fn for_quota(quota: ApiQuota) -> Limiter {
        let rate = NonZeroU32::new(quota.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(quota.burst).unwrap_or(rate);
        Limiter(Arc::new(RateLimiter::direct(
            Quota::per_second(rate).allow_burst(burst),
        )))
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        self.0.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_at_once_and_no_more() {
        for quota in [SECURITY_HUB_GET_FINDINGS, GUARDDUTY_DEFAULT] {
            let limiter = Limiter::for_quota(quota);
            let granted = (0..quota.burst * 2).filter(|_| limiter.0.check().is_ok()).count();
            // Refill during the loop is at most one token (the loop takes far less than a second).
            assert!(
                granted == quota.burst as usize || granted == quota.burst as usize + 1,
                "{quota:?}: {granted} granted at once"
            );
        }
    }
}
