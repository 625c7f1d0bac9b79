//! Live collection shared between calls: [`SharedInventory`] collects the
//! inventory at most once per time-to-live, and once for all callers that
//! ask while a collection runs; [`SharedCollections`] does the same per
//! member account and set of regions. Without it every posture tool call collected
//! every region again (hundreds of AWS calls), and concurrent calls
//! multiplied that load on the audited account until it throttled, which
//! turns reads into gaps.

use crate::ports::{CollectError, CollectedAccount, InventorySource, LiveCollector};
use crate::posture::inventory::Inventory;
use crate::sources::SourceError;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a failed collection is answered from memory (so a burst of
/// callers against a failing account makes one attempt, not one each).
pub const FAILURE_TTL: SignedDuration = SignedDuration::from_secs(10);

/// Default time-to-live of a live collection.
pub const DEFAULT_TTL: SignedDuration = SignedDuration::from_mins(15);

/// A collection's result and when it was taken.
struct Remembered<T, E> {
    at: Timestamp,
    result: Result<T, E>,
}

impl<T: Clone, E: Clone> Remembered<T, E> {
    /// The result, if it is still to be answered from at `asked_at`: a
    /// success for `ttl`, a failure for [`FAILURE_TTL`].
    fn fresh(&self, asked_at: Timestamp, ttl: SignedDuration) -> Option<Result<T, E>> {
        let ttl = if self.result.is_ok() { ttl } else { FAILURE_TTL };
        (self.at <= asked_at && asked_at.duration_since(self.at) < ttl).then(|| self.result.clone())
    }
}

/// An [`InventorySource`] that remembers the last collection of `inner`.
/// The answer carries each inventory's `collected_at`, so a cached answer
/// says how old it is.
pub struct SharedInventory {
    inner: Arc<dyn InventorySource>,
    ttl: SignedDuration,
    clock: fn() -> Timestamp,
    last: futures::lock::Mutex<Option<Remembered<Vec<Inventory>, SourceError>>>,
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
        if let Some(result) = last.as_ref().and_then(|r| r.fresh((self.clock)(), self.ttl)) {
            return result;
        }
        let result = self.inner.inventories().await;
        *last = Some(Remembered {
            at: (self.clock)(),
            result: result.clone(),
        });
        result
    }
}

/// A live collection kept, with when it was taken.
type Kept = Option<Remembered<Arc<CollectedAccount>, CollectError>>;

/// An account and the regions collected (sorted; `None`: the defaults).
type CollectionKey = (String, Option<Vec<String>>);

/// A [`LiveCollector`] that remembers each (account, regions) collection
/// for its time-to-live, per process (a Lambda instance: never across
/// deployments), and collects once for callers that ask meanwhile.
pub struct SharedCollections {
    inner: Arc<dyn LiveCollector>,
    ttl: SignedDuration,
    clock: fn() -> Timestamp,
    entries: Mutex<HashMap<CollectionKey, Arc<futures::lock::Mutex<Kept>>>>,
}

/// Accounts × region sets remembered; past this the oldest entries are
/// dropped (a caller naming many accounts cannot grow memory without bound).
const COLLECTIONS_KEPT: usize = 64;

impl SharedCollections {
    /// Remembers collections of `inner` for `ttl` (zero: only concurrent
    /// callers share one).
    pub fn new(inner: Arc<dyn LiveCollector>, ttl: SignedDuration, clock: fn() -> Timestamp) -> SharedCollections {
        SharedCollections {
            inner,
            ttl,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, key: CollectionKey) -> Arc<futures::lock::Mutex<Kept>> {
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        if entries.len() >= COLLECTIONS_KEPT && !entries.contains_key(&key) {
            // Unused entries first; an entry being collected is kept by its callers anyway.
            entries.retain(|_, e| Arc::strong_count(e) > 1);
        }
        entries.entry(key).or_default().clone()
    }
}

#[async_trait]
impl LiveCollector for SharedCollections {
    async fn collect_now(
        &self,
        account_id: &str,
        regions: Option<&[String]>,
    ) -> Result<Arc<CollectedAccount>, CollectError> {
        let mut key_regions = regions.map(<[String]>::to_vec);
        if let Some(r) = key_regions.as_mut() {
            r.sort();
            r.dedup();
        }
        let entry = self.entry((account_id.to_string(), key_regions));
        let mut kept = entry.lock().await;
        if let Some(result) = kept.as_ref().and_then(|r| r.fresh((self.clock)(), self.ttl)) {
            return result;
        }
        let result = self.inner.collect_now(account_id, regions).await;
        *kept = Some(Remembered {
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

            member_collections_are_kept_per_account_and_regions().await;
        });
    }

    struct CountingMembers {
        calls: Mutex<Vec<(String, Option<Vec<String>>)>>,
    }

    #[async_trait]
    impl LiveCollector for CountingMembers {
        async fn collect_now(
            &self,
            account_id: &str,
            regions: Option<&[String]>,
        ) -> Result<Arc<CollectedAccount>, CollectError> {
            let mut calls = self.calls.lock().unwrap();
            calls.push((account_id.to_string(), regions.map(<[String]>::to_vec)));
            if account_id == "refused" {
                return Err(CollectError::Unreachable("AccessDenied".into()));
            }
            Ok(Arc::new(CollectedAccount {
                inventory: Inventory {
                    account_id: format!("{account_id} #{}", calls.len()),
                    ..Inventory::default()
                },
                findings: Vec::new(),
                gaps: Vec::new(),
                throttled: Vec::new(),
                stored: false,
            }))
        }
    }

    async fn member_collections_are_kept_per_account_and_regions() {
        let inner = Arc::new(CountingMembers {
            calls: Mutex::new(Vec::new()),
        });
        let cache = SharedCollections::new(inner.clone(), SignedDuration::from_mins(15), clock);
        let east = ["us-east-1".to_string()];
        let both = ["us-west-2".to_string(), "us-east-1".to_string()];
        let both_sorted = ["us-east-1".to_string(), "us-west-2".to_string()];
        let a1 = cache.collect_now("a", Some(&east)).await.unwrap();
        let a1_again = cache.collect_now("a", Some(&east)).await.unwrap();
        assert!(Arc::ptr_eq(&a1, &a1_again), "same account and regions: kept");
        cache.collect_now("a", Some(&both)).await.unwrap();
        cache.collect_now("a", Some(&both_sorted)).await.unwrap();
        cache.collect_now("a", None).await.unwrap();
        cache.collect_now("b", Some(&east)).await.unwrap();
        assert_eq!(
            inner.calls.lock().unwrap().len(),
            4,
            "a×east, a×both (in any order), a×default, b×east"
        );
        assert!(cache.collect_now("refused", None).await.is_err());
        assert!(cache.collect_now("refused", None).await.is_err());
        assert_eq!(inner.calls.lock().unwrap().len(), 5, "a refusal is remembered briefly");
        NOW.fetch_add(16 * 60, Ordering::SeqCst);
        let a2 = cache.collect_now("a", Some(&east)).await.unwrap();
        assert!(!Arc::ptr_eq(&a1, &a2), "collected again after the TTL");
    }
}
