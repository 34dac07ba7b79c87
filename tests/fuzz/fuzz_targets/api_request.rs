//! Every route of the v1 API with fuzzed query, headers and body: see `glase_fuzz::api_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| glase_fuzz::api_request(data));
