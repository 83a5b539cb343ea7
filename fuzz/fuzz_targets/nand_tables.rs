//! cargo-fuzz target `nand_tables`: arbitrary bytes into [`oasis_fuzz::package_entries::nand_tables`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oasis_fuzz::package_entries::nand_tables(data);
});
