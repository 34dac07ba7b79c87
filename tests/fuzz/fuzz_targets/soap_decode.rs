//! Glase's SOAP answers, the requests the sandbox decodes, and period reports: see `glase_fuzz::soap_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| glase_fuzz::soap_decode(data));
