//! Live collection shared between calls: [`SharedInventory`] collects the
//! inventory at most once per time-to-live, and once for all callers that
//! ask while a collection runs. Without it every posture tool call collected
//! every region again (hundreds of AWS calls), and concurrent calls
//! multiplied that load on the audited account until it throttled, which
//! turns reads into gaps.

use crate::ports::InventorySource;
use crate::posture::inventory::Inventory;
use crate::sources::SourceError;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;

/// How long a failed collection is answered from memory (so a burst of
/// callers against a failing account makes one attempt, not one each).
pub const FAILURE_TTL: SignedDuration = SignedDuration::from_secs(10);

/// Default time-to-live of a live collection.
pub const DEFAULT_TTL: SignedDuration = SignedDuration::from_mins(15);

struct Collected {
    at: Timestamp,
    result: Result<Vec<Inventory>, SourceError>,
}

/// An [`InventorySource`] that remembers the last collection of `inner`.
/// The answer carries each inventory's `collected_at`, so a cached answer
/// says how old it is.
pub struct SharedInventory {
    inner: Arc<dyn InventorySource>,
    ttl: SignedDuration,
    clock: fn() -> Timestamp,
    last: futures::lock::Mutex<Option<Collected>>,
}

impl SharedInventory {
    /// Remembers collections of `inner` for `ttl` (zero: never remembered,
    /// but concurrent callers still share one collection).
    pub fn new(inner: Arc<dyn InventorySource>, ttl: SignedDuration, clock: fn() -> Timestamp) -> SharedInventory {
        SharedInventory {
            inner,
            ttl,
            clock,
            last: futures::lock::Mutex::new(None),
        }
    }
}

#[async_trait]
impl InventorySource for SharedInventory {
    async fn inventories(&self) -> Result<Vec<Inventory>, SourceError> {
        // Held across the collection: whoever comes meanwhile waits for it
        // and is answered from it.
        let mut last = self.last.lock().await;
        let asked_at = (self.clock)();
        if let Some(collected) = last.as_ref() {
            let ttl = if collected.result.is_ok() {
                self.ttl
            } else {
                FAILURE_TTL
            };
            let fresh = collected.at <= asked_at && asked_at.duration_since(collected.at) < ttl;
            if fresh {
                return collected.result.clone();
            }
        }
        let result = self.inner.inventories().await;
        *last = Some(Collected {
            at: (self.clock)(),
            result: result.clone(),
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SourceErrorKind;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    static NOW: AtomicI64 = AtomicI64::new(1_800_000_000);

    fn clock() -> Timestamp {
        Timestamp::from_second(NOW.load(Ordering::SeqCst)).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    struct Counting {
        calls: AtomicUsize,
        fail: bool,
    }

    #[async_trait]
    impl InventorySource for Counting {
        async fn inventories(&self) -> Result<Vec<Inventory>, SourceError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            // Yield so that concurrent callers really overlap the collection.
            let mut yielded = false;
            futures::future::poll_fn(|cx| {
                if yielded {
                    return std::task::Poll::Ready(());
                }
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            })
            .await;
            if self.fail {
                return Err(SourceError {
                    kind: SourceErrorKind::Unavailable,
                    service: "inventory".into(),
                    message: "down".into(),
                });
            }
            Ok(vec![Inventory {
                account_id: format!("collection {n}"),
                ..Inventory::default()
            }])
        }
    }

    fn shared(fail: bool, ttl: SignedDuration) -> (Arc<Counting>, SharedInventory) {
        let inner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            fail,
        });
        let cache = SharedInventory::new(inner.clone(), ttl, clock);
        (inner, cache)
    }

    // One test drives the shared clock, so tests never race on it.
    #[test]
    fn collections_are_shared_within_the_ttl_and_failures_briefly() {
        futures::executor::block_on(async {
            let (inner, cache) = shared(false, SignedDuration::from_mins(15));
            let answers = futures::future::join_all((0..20).map(|_| cache.inventories())).await;
            assert_eq!(
                inner.calls.load(Ordering::SeqCst),
                1,
                "20 concurrent calls, one collection"
            );
            assert!(
                answers
                    .iter()
                    .all(|a| a.as_ref().unwrap()[0].account_id == "collection 0")
            );
            NOW.fetch_add(14 * 60, Ordering::SeqCst);
            cache.inventories().await.unwrap();
            assert_eq!(inner.calls.load(Ordering::SeqCst), 1, "within the TTL");
            NOW.fetch_add(2 * 60, Ordering::SeqCst);
            assert_eq!(
                cache.inventories().await.unwrap()[0].account_id,
                "collection 1",
                "after the TTL"
            );

            let (inner, cache) = shared(true, SignedDuration::from_mins(15));
            assert!(cache.inventories().await.is_err());
            assert!(cache.inventories().await.is_err());
            assert_eq!(inner.calls.load(Ordering::SeqCst), 1, "a failure is remembered briefly");
            NOW.fetch_add(11, Ordering::SeqCst);
            assert!(cache.inventories().await.is_err());
            assert_eq!(inner.calls.load(Ordering::SeqCst), 2, "and retried after FAILURE_TTL");

            let (inner, cache) = shared(false, SignedDuration::ZERO);
            cache.inventories().await.unwrap();
            cache.inventories().await.unwrap();
            assert_eq!(inner.calls.load(Ordering::SeqCst), 2, "TTL zero: every call collects");
        });
    }
}
