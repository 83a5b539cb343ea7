//! Oasis desktop app.
fn main() {}
