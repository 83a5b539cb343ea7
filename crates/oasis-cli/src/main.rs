//! oasis-cli
fn main() {}
