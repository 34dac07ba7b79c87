//! What a newcomer sees on the first start of the local stack, on a restart over the same data, and at
//! Ctrl-C: the banner, the shutdown line and nothing that looks like a fault. A condition that is
//! expected there (no table yet, a table already there, an empty store, the stop asked for) is never
//! logged as a warning or an error.

use std::path::Path;
use std::time::Duration;

use crate::running::{data_dir, start};

/// Starts glase-local with the default log level on `data`, lets it run a few timer ticks after its
/// banner, stops it as Ctrl-C does, checks that it exited cleanly, and answers everything it printed on
/// standard output and standard error.
fn run_once(data: &Path) -> String {
    let stack = start(data, &[]);
    // Three seconds after the banner cover several safety-net passes.
    std::thread::sleep(Duration::from_secs(3));
    let (status, printed) = stack.interrupt();
    let printed = printed.join("\n");
    assert!(
        status.success(),
        "glase-local exited with {status} at Ctrl-C:\n{printed}"
    );
    assert!(
        printed.contains("glase-local listening on http://127.0.0.1:"),
        "no banner:\n{printed}"
    );
    assert!(
        printed.contains("glase-local: shutting down"),
        "no shutdown line:\n{printed}"
    );
    printed
}

/// The lines of `printed` that look like a fault: a warning, an error, or an error response of the
/// embedded DynamoDB.
fn faults(printed: &str) -> Vec<&str> {
    printed
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("error response"))
        .collect()
}

#[test]
fn the_first_start_a_restart_and_ctrl_c_print_no_warning_or_error() {
    let data = data_dir("first");
    let first = run_once(&data);
    assert!(
        faults(&first).is_empty(),
        "the first start printed these faults:\n{}\n\neverything it printed:\n{first}",
        faults(&first).join("\n")
    );
    let again = run_once(&data);
    assert!(
        faults(&again).is_empty(),
        "the restart on the same data printed these faults:\n{}\n\neverything it printed:\n{again}",
        faults(&again).join("\n")
    );
    let _ = std::fs::remove_dir_all(&data);
}
