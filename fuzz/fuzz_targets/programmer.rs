//! cargo-fuzz target `programmer`: arbitrary bytes into [`oasis_fuzz::package_entries::programmer`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oasis_fuzz::package_entries::programmer(data);
});
