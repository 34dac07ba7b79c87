//! What a newcomer sees on the first start of the local stack, and on a restart over the same data:
//! the banner and nothing that looks like a fault. A condition that is expected there (no table yet, an
//! empty store) is never logged as a warning or an error.

use std::path::Path;
use std::time::Duration;

use crate::running::{data_dir, start};

/// Starts glase-local with the default log level on `data`, lets it run a few timer ticks after its
/// banner, stops it, and answers everything it printed on standard output and standard error.
fn run_once(data: &Path) -> String {
    let stack = start(data, &[]);
    // Three seconds after the banner cover several safety-net passes.
    std::thread::sleep(Duration::from_secs(3));
    stack.stop().join("\n")
}

fn faults(printed: &str) -> Vec<&str> {
    printed
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("error response"))
        .collect()
}

#[test]
fn the_first_start_and_a_restart_print_the_banner_and_no_warning() {
    let data = data_dir("first");
    let first = run_once(&data);
    assert!(
        first.contains("glase-local listening on http://127.0.0.1:"),
        "{first}"
    );
    assert_eq!(
        faults(&first),
        Vec::<&str>::new(),
        "first start printed:\n{first}"
    );
    let again = run_once(&data);
    assert!(
        again.contains("glase-local listening on http://127.0.0.1:"),
        "{again}"
    );
    assert_eq!(faults(&again), Vec::<&str>::new(), "restart printed:\n{again}");
    let _ = std::fs::remove_dir_all(&data);
}
