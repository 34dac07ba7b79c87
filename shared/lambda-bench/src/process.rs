//! One function process: spawned with a given environment, its JSON log lines read as they come (so
//! the pipe never fills), its peak RSS read from `/proc`, and stopped by its process id.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The fields of the function's "initialised" log line that are start-up phases (microseconds).
pub const PHASE_FIELDS: &[&str] = &[
    "logging_us",
    "aws_config_us",
    "secrets_us",
    "settings_us",
    "clients_us",
    "init_total_us",
];

/// What the harness learnt from a process's output.
#[derive(Debug, Clone, Default)]
pub struct LogFacts {
    /// The numeric phase fields of the "initialised" line, once it was logged.
    pub phases: Option<BTreeMap<String, u64>>,
    /// `elapsed_ms` of the Glase client's "glase warm-up" line.
    pub glase_warm_up_ms: Option<u64>,
    /// Lines read from stdout and stderr.
    pub lines: u64,
    /// The last lines that were not JSON or were errors, for diagnostics.
    pub notable: Vec<String>,
}

impl LogFacts {
    /// Takes in one output line.
    pub fn absorb(&mut self, line: &str) {
        self.lines += 1;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            self.remember(line);
            return;
        };
        let message = value.get("message").and_then(serde_json::Value::as_str);
        match message {
            Some("initialised") => {
                let phases = PHASE_FIELDS
                    .iter()
                    .filter_map(|f| {
                        value
                            .get(*f)
                            .and_then(serde_json::Value::as_u64)
                            .map(|v| ((*f).to_owned(), v))
                    })
                    .collect();
                self.phases = Some(phases);
            }
            Some("glase warm-up") => {
                self.glase_warm_up_ms = value.get("elapsed_ms").and_then(serde_json::Value::as_u64);
            }
            _ => {
                let level = value
                    .get("level")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("");
                if level.eq_ignore_ascii_case("error") {
                    self.remember(line);
                }
            }
        }
    }

    fn remember(&mut self, line: &str) {
        if self.notable.len() >= 20 {
            self.notable.remove(0);
        }
        self.notable.push(line.chars().take(400).collect());
    }
}

/// A running function process.
pub struct FunctionProcess {
    child: Child,
    pid: u32,
    spawned: Instant,
    facts: Arc<Mutex<LogFacts>>,
    output: Arc<Mutex<Vec<String>>>,
}

impl FunctionProcess {
    /// Spawns `binary` with exactly `env` (nothing inherited), reading its stdout and stderr.
    pub fn spawn(binary: &Path, env: &[(String, String)]) -> std::io::Result<Self> {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let spawned = Instant::now();
        let mut child = command.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| std::io::Error::other("the process has no id"))?;
        let facts = Arc::new(Mutex::new(LogFacts::default()));
        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(read_lines(out, Arc::clone(&facts), Arc::clone(&output)));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(read_lines(err, Arc::clone(&facts), Arc::clone(&output)));
        }
        Ok(Self {
            child,
            pid,
            spawned,
            facts,
            output,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// When the process was spawned (taken just before the spawn call).
    pub fn spawned(&self) -> Instant {
        self.spawned
    }

    /// What its output said so far.
    pub fn facts(&self) -> LogFacts {
        self.facts.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every line read so far from stdout and stderr.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Waits until the "initialised" line was read (at most `timeout`) and answers the facts.
    pub async fn wait_for_phases(&self, timeout: Duration) -> LogFacts {
        let until = Instant::now() + timeout;
        loop {
            let facts = self.facts();
            if facts.phases.is_some() || Instant::now() >= until {
                return facts;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> std::io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        vm_hwm_kib(&status).ok_or_else(|| std::io::Error::other("no VmHWM line in /proc/<pid>/status"))
    }

    /// Whether the process has exited (and its exit status, if so).
    pub fn try_exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the process: SIGTERM by its id, then SIGKILL through its handle if it is still running
    /// after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        if self.try_exited().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

async fn read_lines(
    stream: impl AsyncRead + Unpin,
    facts: Arc<Mutex<LogFacts>>,
    output: Arc<Mutex<Vec<String>>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        facts.lock().unwrap_or_else(PoisonError::into_inner).absorb(&line);
        output.lock().unwrap_or_else(PoisonError::into_inner).push(line);
    }
}

/// The `VmHWM` (peak RSS) of a `/proc/<pid>/status` text, in KiB.
pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmHWM:")?;
        let mut parts = rest.split_whitespace();
        let value = parts.next()?.parse::<u64>().ok()?;
        match parts.next() {
            Some("kB") | None => Some(value),
            Some(_) => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_rss_is_read_from_the_vmhwm_line() {
        let status = "Name:\tnotification\nVmPeak:\t  120000 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(9876));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
        assert_eq!(vm_hwm_kib("VmHWM:\t 12 MB\n"), None);
    }

    #[test]
    fn the_initialised_line_gives_the_phases_and_the_warm_up_line_its_time() {
        let mut facts = LogFacts::default();
        facts.absorb(r#"{"level":"INFO","message":"glase warm-up","elapsed_ms":3,"http_status":200}"#);
        facts.absorb(
            r#"{"level":"INFO","message":"initialised","function":"notification","logging_us":10,"aws_config_us":200,"secrets_us":1,"settings_us":2,"clients_us":3000,"init_total_us":3213}"#,
        );
        facts.absorb("not json at all");
        let phases = facts.phases.clone().unwrap();
        assert_eq!(phases.get("aws_config_us"), Some(&200));
        assert_eq!(phases.get("clients_us"), Some(&3000));
        assert_eq!(phases.len(), PHASE_FIELDS.len());
        assert_eq!(facts.glase_warm_up_ms, Some(3));
        assert_eq!(facts.lines, 3);
        assert_eq!(facts.notable, vec!["not json at all".to_owned()]);
    }
}
