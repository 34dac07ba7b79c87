//! What a newcomer sees on the first start of the local stack, and on a restart over the same data:
//! the banner and nothing that looks like a fault. A condition that is expected there (no table yet, an
//! empty store) is never logged as a warning or an error.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Starts glase-local with the default log level on `data`, lets it run a few timer ticks after its
/// banner, stops it, and answers everything it printed on standard output and standard error.
fn run_once(data: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_glase-local"))
        .args(["--port", "0", "--data-dir"])
        .arg(data)
        .env_remove("GLASE_API_KEY")
        .env_remove("GLASE_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("RUST_LOG")
        .env_remove("AWS_LAMBDA_LOG_LEVEL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("glase-local starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // The banner comes within seconds; three more seconds cover several safety-net passes.
    std::thread::sleep(Duration::from_secs(6));
    let _ = child.kill();
    let _ = child.wait();
    format!("{}{}", out.join().unwrap(), err.join().unwrap())
}

fn faults(printed: &str) -> Vec<&str> {
    printed
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("error response"))
        .collect()
}

#[test]
fn the_first_start_and_a_restart_print_the_banner_and_no_warning() {
    let data = std::env::temp_dir().join(format!("glase-local-first-{:x}", rand::random::<u64>()));
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
