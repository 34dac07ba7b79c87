//! The loopback servers some tests need, DynamoDB Local and moto_server, for the test helpers of the
//! store and the queue adapters (their `testing` features).
//!
//! A server's endpoint is the one its variable names (`tests/run.sh` starts both and sets
//! `DYNAMODB_LOCAL_ENDPOINT` and `SQS_ENDPOINT`). Without it, the first test that asks starts a server
//! of its own with the repository's start script, owned by this test process: the script's watchdog
//! stops it, by its process id, when the process ends, and other test processes keep theirs. A server
//! that cannot be started fails the test with the script's output; a test that needs one is never
//! skipped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// One kind of server and how its start script is run.
pub struct Server {
    /// Its name in a failure message.
    name: &'static str,
    /// The variable that names a running one; the start script prints `<variable>=<endpoint>`.
    endpoint_variable: &'static str,
    /// The start script, from the repository's root.
    script: &'static str,
    /// The variable that gives the script its run directory (pid files, logs).
    run_dir_variable: &'static str,
    /// The run directories of this kind's servers, from the repository's root.
    run_dirs: &'static str,
    /// The endpoint of the server this process started, once it has.
    started: OnceLock<Result<String, String>>,
}

/// DynamoDB Local (`tests/dynamodb/dynamodb-local.sh`), named by `DYNAMODB_LOCAL_ENDPOINT`.
pub static DYNAMODB_LOCAL: Server = Server {
    name: "DynamoDB Local",
    endpoint_variable: "DYNAMODB_LOCAL_ENDPOINT",
    script: "tests/dynamodb/dynamodb-local.sh",
    run_dir_variable: "DYNAMODB_LOCAL_RUN_DIR",
    run_dirs: "target/dynamodb-local",
    started: OnceLock::new(),
};

/// moto_server for SQS (`tests/moto/moto-server.sh`), named by `SQS_ENDPOINT`.
pub static MOTO: Server = Server {
    name: "moto_server",
    endpoint_variable: "SQS_ENDPOINT",
    script: "tests/moto/moto-server.sh",
    run_dir_variable: "MOTO_RUN_DIR",
    run_dirs: "target/moto",
    started: OnceLock::new(),
};

impl Server {
    /// The variable that names a running server of this kind.
    pub fn endpoint_variable(&self) -> &'static str {
        self.endpoint_variable
    }

    /// The endpoint: the variable's, or that of a server this process starts once.
    ///
    /// # Panics
    /// When no server is named and none can be started: the tests that need one cannot run.
    pub fn endpoint(&self) -> String {
        if let Ok(endpoint) = std::env::var(self.endpoint_variable)
            && !endpoint.is_empty()
        {
            return endpoint;
        }
        match self.started.get_or_init(|| self.start_own()) {
            Ok(endpoint) => endpoint.clone(),
            Err(why) => panic!(
                "{} is required by these tests and could not be started: {why}",
                self.name
            ),
        }
    }

    /// Runs the start script with this process as the owner, in a run directory of its own.
    fn start_own(&self) -> Result<String, String> {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = repo.join(self.script);
        let pid = std::process::id();
        let run_dir = repo.join(format!("{}/run-{pid}", self.run_dirs));
        let output = Command::new(&script)
            .args(["start", "--owner-pid", &pid.to_string()])
            .env(self.run_dir_variable, &run_dir)
            .output()
            .map_err(|e| format!("could not run {}: {e}", script.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "{} exited with {}: {}{}",
                script.display(),
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let prefix = format!("{}=", self.endpoint_variable);
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .map(str::to_owned)
            .ok_or_else(|| format!("{} printed no endpoint: {stdout}", script.display()))
    }
}
