//! Posture: the inventory of an account, the native checks run on it, the
//! frameworks their verdicts map to, and what the posture tools compute from
//! them (compliance, assessment, recommendations, validation).

pub mod acceptance;
pub mod assessment;
pub mod checks;
pub mod compliance;
pub mod frameworks;
pub mod inventory;
pub mod recommendations;
pub mod validation;
