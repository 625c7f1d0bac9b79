//! [`FindingSpool`]: findings kept compactly while a collection reads them.
//! A normalized [`Finding`] takes about 3.2 KB of heap (some thirty
//! allocations); an account's collection can hold a million. The spool keeps
//! the last few hundred as they are and seals the rest in chunks: encoded
//! (postcard) and compressed (LZ4), a few hundred bytes per finding, read
//! back one chunk at a time. Findings come out in the order they went in.

use crate::finding::Finding;
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Findings per sealed chunk: large enough for LZ4 to find the repetition
/// between findings (the same control, account, texts), small enough that
/// one chunk decoded is a small fraction of the whole.
const CHUNK: usize = 256;

/// A chunk that could not be read back (a bug: the spool wrote it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a spooled chunk of findings could not be read back: {0}")]
pub struct SpoolError(String);

#[derive(Clone)]
struct Chunk {
    compressed: Box<[u8]>,
}

impl Chunk {
    fn seal(findings: &[Finding]) -> Result<Chunk, SpoolError> {
        let encoded = postcard::to_stdvec(findings).map_err(|e| SpoolError(e.to_string()))?;
        Ok(Chunk {
            compressed: lz4_flex::compress_prepend_size(&encoded).into_boxed_slice(),
        })
    }

    fn open(&self) -> Result<Vec<Finding>, SpoolError> {
        let encoded = lz4_flex::decompress_size_prepended(&self.compressed).map_err(|e| SpoolError(e.to_string()))?;
        postcard::from_bytes(&encoded).map_err(|e| SpoolError(e.to_string()))
    }
}

/// Findings appended one at a time and kept compressed in chunks.
#[derive(Clone, Default)]
pub struct FindingSpool {
    sealed: Vec<Chunk>,
    open: Vec<Finding>,
    len: usize,
}

impl std::fmt::Debug for FindingSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FindingSpool")
            .field("len", &self.len)
            .field("compressed_bytes", &self.compressed_bytes())
            .finish()
    }
}

impl FindingSpool {
    /// An empty spool.
    pub fn new() -> FindingSpool {
        FindingSpool::default()
    }

    /// Appends `finding`.
    pub fn push(&mut self, finding: Finding) -> Result<(), SpoolError> {
        self.open.push(finding);
        self.len += 1;
        if self.open.len() == CHUNK {
            self.sealed.push(Chunk::seal(&self.open)?);
            self.open.clear();
        }
        Ok(())
    }

    /// Appends every finding of `other`, in its order. Its sealed chunks
    /// move as they are, never decoded.
    pub fn append(&mut self, other: FindingSpool) -> Result<(), SpoolError> {
        if !self.open.is_empty() && !other.sealed.is_empty() {
            // A short chunk keeps the order.
            self.sealed.push(Chunk::seal(&self.open)?);
            self.open.clear();
        }
        self.sealed.extend(other.sealed);
        self.len += other.len - other.open.len();
        for f in other.open {
            self.push(f)?;
        }
        Ok(())
    }

    /// Findings held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the sealed chunks (what the spool saves is the rest).
    pub fn compressed_bytes(&self) -> usize {
        self.sealed.iter().map(|c| c.compressed.len()).sum()
    }

    /// The findings chunk by chunk, in order: each item at most a few
    /// hundred findings decoded.
    pub fn chunks(&self) -> impl Iterator<Item = Result<Vec<Finding>, SpoolError>> + '_ {
        self.sealed
            .iter()
            .map(Chunk::open)
            .chain((!self.open.is_empty()).then(|| Ok(self.open.clone())))
    }

    /// Calls `each` with every finding, in order, one chunk decoded at a time.
    pub fn try_for_each<E: From<SpoolError>>(&self, mut each: impl FnMut(Finding) -> Result<(), E>) -> Result<(), E> {
        for chunk in self.chunks() {
            for f in chunk? {
                each(f)?;
            }
        }
        Ok(())
    }

    /// The newest `n` findings (by `updated_at`; of equally new ones, the
    /// first), in the order they were spooled, and how many were left out.
    /// Never decodes more than a chunk at a time: the cut-off time is found
    /// from the times alone.
    pub fn keep_newest(self, n: usize) -> Result<(FindingSpool, usize), SpoolError> {
        let Some(mut cutoff) = Cutoff::newest(&[&self], n)? else {
            return Ok((self, 0));
        };
        let mut kept = FindingSpool::new();
        self.try_for_each(|f| if cutoff.keeps(&f) { kept.push(f) } else { Ok(()) })?;
        let left_out = self.len - kept.len;
        Ok((kept, left_out))
    }

    /// Every finding, in order, as a list.
    pub fn into_vec(self) -> Result<Vec<Finding>, SpoolError> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in &self.sealed {
            out.extend(chunk.open()?);
        }
        out.extend(self.open);
        Ok(out)
    }
}

/// Where the newest `n` findings of several spools end: those updated after
/// `time` are kept, and of those updated at `time`, the first `ties`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff {
    /// The oldest update time kept.
    pub time: jiff::Timestamp,
    /// Findings updated at `time` still to keep.
    pub ties: usize,
}

impl Cutoff {
    /// The cut-off keeping the newest `n` findings of `spools` together;
    /// `None` when they hold `n` or fewer. Reads the times alone, a chunk
    /// at a time.
    pub fn newest(spools: &[&FindingSpool], n: usize) -> Result<Option<Cutoff>, SpoolError> {
        let total: usize = spools.iter().map(|s| s.len()).sum();
        if total <= n {
            return Ok(None);
        }
        if n == 0 {
            return Ok(Some(Cutoff {
                time: jiff::Timestamp::MAX,
                ties: 0,
            }));
        }
        let mut times = Vec::with_capacity(total);
        for spool in spools {
            spool.try_for_each(|f| {
                times.push(std::cmp::Reverse(f.updated_at));
                Ok::<(), SpoolError>(())
            })?;
        }
        let (_, nth, _) = times.select_nth_unstable(n - 1);
        let time = nth.0;
        // Strictly newer ones all fit; equally new ones fill what is left.
        let ties = n - times.iter().filter(|t| t.0 > time).count();
        Ok(Some(Cutoff { time, ties }))
    }

    /// Whether `f` is kept (taking one of the ties when it is as old as the
    /// cut-off).
    pub fn keeps(&mut self, f: &Finding) -> bool {
        if f.updated_at > self.time {
            true
        } else if f.updated_at == self.time && self.ties > 0 {
            self.ties -= 1;
            true
        } else {
            false
        }
    }
}

impl Serialize for FindingSpool {
    /// A JSON array of the findings (the shape a `Vec<Finding>` has),
    /// written one chunk decoded at a time.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for chunk in self.chunks() {
            for f in chunk.map_err(serde::ser::Error::custom)? {
                seq.serialize_element(&f)?;
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for FindingSpool {
    /// From a list of findings, each spooled as it is read: never the whole
    /// list at once.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FindingSpool, D::Error> {
        struct Spooling;
        impl<'de> Visitor<'de> for Spooling {
            type Value = FindingSpool;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of findings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FindingSpool, A::Error> {
                let mut spool = FindingSpool::new();
                while let Some(f) = seq.next_element::<Finding>()? {
                    spool.push(f).map_err(serde::de::Error::custom)?;
                }
                Ok(spool)
            }
        }
        deserializer.deserialize_seq(Spooling)
    }
}

impl TryFrom<Vec<Finding>> for FindingSpool {
    type Error = SpoolError;
    fn try_from(findings: Vec<Finding>) -> Result<FindingSpool, SpoolError> {
        let mut spool = FindingSpool::new();
        for f in findings {
            spool.push(f)?;
        }
        Ok(spool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(n: usize) -> Vec<Finding> {
        let org = crate::demo::DemoOrganization::load("2026-11-26T06:00:00Z".parse().unwrap()).unwrap();
        let base = org.findings();
        assert!(!base.is_empty());
        (0..n)
            .map(|i| {
                let mut f = base[i % base.len()].clone();
                f.id = format!("{}-{i}", f.id);
                f
            })
            .collect()
    }

    #[test]
    fn findings_come_back_as_they_went_in_and_smaller() {
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let all = findings(n);
            let spool = FindingSpool::try_from(all.clone()).unwrap();
            assert_eq!(spool.len(), n);
            assert_eq!(spool.clone().into_vec().unwrap(), all, "{n}");
            let mut seen = Vec::new();
            spool
                .try_for_each(|f| {
                    seen.push(f);
                    Ok::<(), SpoolError>(())
                })
                .unwrap();
            assert_eq!(seen, all);
            // The JSON is a plain list of findings, and reads back into a spool.
            let json = serde_json::to_string(&spool).unwrap();
            assert_eq!(json, serde_json::to_string(&all).unwrap());
            let back: FindingSpool = serde_json::from_str(&json).unwrap();
            assert_eq!(back.into_vec().unwrap(), all);
        }
        let spool = FindingSpool::try_from(findings(4 * CHUNK)).unwrap();
        let json = serde_json::to_vec(&spool).unwrap().len();
        assert!(
            spool.compressed_bytes() * 4 < json,
            "{} compressed bytes against {json} of JSON",
            spool.compressed_bytes()
        );
    }

    #[test]
    fn keeping_the_newest_keeps_them_in_order() {
        let mut all = findings(3 * CHUNK);
        let base: jiff::Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        for (i, f) in all.iter_mut().enumerate() {
            // Unordered times, with ties.
            f.updated_at = base + jiff::SignedDuration::from_mins(((i * 7919) % 101) as i64);
        }
        for n in [0, 1, 100, CHUNK, 3 * CHUNK - 1, 3 * CHUNK, 5 * CHUNK] {
            let (kept, left_out) = FindingSpool::try_from(all.clone()).unwrap().keep_newest(n).unwrap();
            let kept = kept.into_vec().unwrap();
            assert_eq!(kept.len(), n.min(all.len()), "{n}");
            assert_eq!(left_out, all.len() - kept.len());
            let mut newest: Vec<_> = all.iter().map(|f| f.updated_at).collect();
            newest.sort_by(|a, b| b.cmp(a));
            let mut got: Vec<_> = kept.iter().map(|f| f.updated_at).collect();
            got.sort_by(|a, b| b.cmp(a));
            assert_eq!(got, newest[..kept.len()], "{n}: the newest");
            let order: Vec<usize> = kept
                .iter()
                .map(|k| all.iter().position(|f| f.id == k.id).unwrap())
                .collect();
            assert!(order.is_sorted(), "{n}: the spool's order");
        }
    }

    #[test]
    fn appending_keeps_the_order() {
        let (a, b) = (findings(CHUNK + 5), findings(2 * CHUNK + 3));
        for (left, right) in [(a.clone(), b.clone()), (Vec::new(), b.clone()), (a.clone(), Vec::new())] {
            let mut spool = FindingSpool::try_from(left.clone()).unwrap();
            spool.append(FindingSpool::try_from(right.clone()).unwrap()).unwrap();
            let expected: Vec<Finding> = left.into_iter().chain(right).collect();
            assert_eq!(spool.len(), expected.len());
            assert_eq!(spool.into_vec().unwrap(), expected);
        }
    }
}
