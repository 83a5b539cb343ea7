//! cargo-fuzz target `sparse`: arbitrary bytes into [`oasis_fuzz::package_entries::sparse`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oasis_fuzz::package_entries::sparse(data);
});
