//! cargo-fuzz target `package_xml`: arbitrary bytes into [`oasis_fuzz::package_entries::package_xml`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oasis_fuzz::package_entries::package_xml(data);
});
