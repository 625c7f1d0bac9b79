//! The organization over time: run records, how a run is executed over the
//! accounts in scope, the per-account snapshots it stores, and history and
//! drift read back from them.

pub mod execute;
pub mod history;
pub mod run;
pub mod served;
pub mod snapshot;
