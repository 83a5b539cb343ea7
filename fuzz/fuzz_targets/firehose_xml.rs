//! cargo-fuzz target `firehose_xml`: arbitrary bytes into [`oasis_fuzz::proto_entries::firehose_xml`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oasis_fuzz::proto_entries::firehose_xml(data);
});
