//! Placeholder replaced by the conformance fixture server.
fn main() {}
