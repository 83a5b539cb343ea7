//! cargo-fuzz target `sahara_host`: arbitrary bytes into [`oasis_fuzz::proto_entries::sahara_host`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oasis_fuzz::proto_entries::sahara_host(data);
});
