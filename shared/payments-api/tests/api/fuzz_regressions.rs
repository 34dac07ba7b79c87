//! Replays every kept fuzz input (the seed corpus and the inputs that once crashed, under
//! `tests/fuzz/seeds/<target>/` and `tests/fuzz/regressions/<target>/`) through the same checks the fuzz
//! targets run, so the ordinary test suite keeps them fixed without cargo-fuzz.

#[path = "../../../../tests/fuzz/src/lib.rs"]
mod fuzz_checks;

use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fuzz");
    let mut replayed = 0;
    for kind in ["seeds", "regressions"] {
        let dir = root.join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files.into_iter().filter(|f| f.is_file()) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails again", file.display());
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn the_kept_soap_inputs_pass() {
    assert!(replay("soap_decode", fuzz_checks::soap_decode) >= 10);
}

#[test]
fn the_kept_api_requests_pass() {
    assert!(replay("api_request", fuzz_checks::api_request) >= 16);
}
