//! cargo-fuzz target `firehose_stream`: arbitrary bytes into [`oasis_fuzz::proto_entries::firehose_stream`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oasis_fuzz::proto_entries::firehose_stream(data);
});
