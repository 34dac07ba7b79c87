//! The system as a user runs it: the standalone `glase-sandbox` binary and `glase-local` pointed at it,
//! each its own process on a loopback port, started and stopped by process id; and the notification
//! relay in front of glase-local, which records every notification token the sandbox sends.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// A free loopback port (bound, then released; the caller binds it again at once).
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// 32 random hex digits.
pub fn random_hex() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn log_file(path: &Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// Stops `child`: SIGINT by pid, and SIGKILL when it has not ended within `patience`.
async fn stop_child(child: &mut Child, patience: Duration) {
    if let Some(pid) = child.id() {
        interrupt(pid).await;
    }
    if tokio::time::timeout(patience, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

/// Sends SIGINT to `pid` (the processes stop cleanly on it) through `kill(1)`.
async fn interrupt(pid: u32) {
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .await;
}

/// The sandbox process.
pub struct SandboxProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl SandboxProcess {
    /// Starts `binary --port 0 --config config` with its logs under `logs` (`RUST_LOG=log_filter`), and
    /// waits for its address.
    pub async fn start(
        binary: &Path,
        config: &Path,
        logs: &Path,
        log_filter: &str,
    ) -> Result<SandboxProcess, String> {
        let mut child = Command::new(binary)
            .args(["--bind", "127.0.0.1", "--port", "0", "--config"])
            .arg(config)
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file(&logs.join("sandbox.err"))?))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut out = tokio::fs::File::create(logs.join("sandbox.out"))
            .await
            .map_err(|e| e.to_string())?;
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .map_err(|_| "the sandbox did not start within 60 s".to_owned())?
            .map_err(|e| e.to_string())?
            .ok_or("the sandbox exited at start")?;
        let base = first
            .strip_prefix("glase-sandbox listening on ")
            .ok_or_else(|| format!("unexpected first line of the sandbox: {first}"))?
            .trim()
            .to_owned();
        let _ = out.write_all(format!("{first}\n").as_bytes()).await;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = out.write_all(format!("{line}\n").as_bytes()).await;
            }
        });
        Ok(SandboxProcess { child, base })
    }

    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops it (SIGINT by pid, SIGKILL after 5 s).
    pub async fn stop(mut self) {
        stop_child(&mut self.child, Duration::from_secs(5)).await;
    }
}

/// How glase-local is started (every incarnation the same: port, data directory, environment).
pub struct LocalSpec {
    /// The binary.
    pub binary: PathBuf,
    /// The port, the same after a restart.
    pub port: u16,
    /// The data directory, the same after a restart.
    pub data_dir: PathBuf,
    /// Where the logs go (`glase-local-N.out` / `.err` per incarnation).
    pub logs: PathBuf,
    /// `--glase-endpoint`.
    pub glase_endpoint: String,
    /// The environment.
    pub env: Vec<(String, String)>,
}

/// One running glase-local.
pub struct LocalProcess {
    child: Child,
}

impl LocalSpec {
    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts incarnation `n` and waits until it answers `GET /v1/openapi.json`.
    pub async fn start(&self, n: u32, http: &reqwest::Client) -> Result<LocalProcess, String> {
        let mut command = Command::new(&self.binary);
        command
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--data-dir",
            ])
            .arg(&self.data_dir)
            .args(["--glase-endpoint", &self.glase_endpoint])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file(
                &self.logs.join(format!("glase-local-{n}.out")),
            )?))
            .stderr(Stdio::from(log_file(
                &self.logs.join(format!("glase-local-{n}.err")),
            )?))
            .kill_on_drop(true);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let started = Instant::now();
        let url = format!("{}/v1/openapi.json", self.base());
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "glase-local exited at start ({status}); see {}",
                    self.logs.display()
                ));
            }
            if let Ok(r) = http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(LocalProcess { child });
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill().await;
                return Err("glase-local did not answer within 120 s".into());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl LocalProcess {
    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL by pid, and waits for it to be gone.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Stops it cleanly (SIGINT by pid, so it prints its last lines; SIGKILL after 10 s).
    pub async fn stop(mut self) {
        stop_child(&mut self.child, Duration::from_secs(10)).await;
    }
}

/// The notification relay: glase-local's public base URL, so every notification passes here on its
/// way from the sandbox; it records each token and forwards the request unchanged. When glase-local is
/// down the sandbox gets a 502, as from a load balancer in front of a dead function. The notifications
/// of payments named with [`Relay::drop_notifications_of`] are lost at the relay, nine in ten of them
/// (never forwarded; the sandbox gets a 502 and does not send them again).
#[derive(Clone)]
pub struct Relay {
    target: String,
    http: reqwest::Client,
    tokens: Arc<Mutex<HashSet<String>>>,
    forwarded: Arc<Mutex<(u64, u64)>>,
    lossy: Arc<Mutex<HashSet<String>>>,
    dropped: Arc<Mutex<u64>>,
}

/// The share of a lossy payment's notifications the relay drops: this many in ten.
pub const DROP_TENTHS: u32 = 9;

impl Relay {
    /// A relay to `target` (glase-local's base URL).
    pub fn new(target: String, http: reqwest::Client) -> Relay {
        Relay {
            target,
            http,
            tokens: Arc::default(),
            forwarded: Arc::default(),
            lossy: Arc::default(),
            dropped: Arc::default(),
        }
    }

    /// From now on most notifications of payment `id` are dropped.
    pub fn drop_notifications_of(&self, id: &str) {
        if let Ok(mut lossy) = self.lossy.lock() {
            lossy.insert(id.to_owned());
        }
    }

    /// Notifications dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.lock().map(|d| *d).unwrap_or_default()
    }

    /// Serves it on a free loopback port; answers its base URL.
    pub async fn serve(&self) -> Result<String, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let router = axum::Router::new().fallback(forward).with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(format!("http://{addr}"))
    }

    /// Every token seen so far.
    pub fn tokens(&self) -> HashSet<String> {
        self.tokens.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Notifications forwarded, and those that found glase-local down.
    pub fn forwarded(&self) -> (u64, u64) {
        self.forwarded.lock().map(|f| *f).unwrap_or_default()
    }
}

async fn forward(State(relay): State<Relay>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    for (k, v) in parts.uri.query().map(url_pairs).into_iter().flatten() {
        if k == "token"
            && let Ok(mut tokens) = relay.tokens.lock()
        {
            tokens.insert(v);
        }
    }
    let lossy = parts
        .uri
        .path()
        .strip_prefix("/v1/notifications/")
        .is_some_and(|id| relay.lossy.lock().is_ok_and(|l| l.contains(id)));
    if lossy && rand::random_ratio(DROP_TENTHS, 10) {
        if let Ok(mut d) = relay.dropped.lock() {
            *d += 1;
        }
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let mut outgoing = relay
        .http
        .request(parts.method.clone(), format!("{}{path_and_query}", relay.target))
        .body(body);
    if let Some(ct) = parts.headers.get(axum::http::header::CONTENT_TYPE) {
        outgoing = outgoing.header(axum::http::header::CONTENT_TYPE, ct.clone());
    }
    match outgoing.send().await {
        Ok(answer) => {
            if let Ok(mut f) = relay.forwarded.lock() {
                f.0 += 1;
            }
            let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let text = answer.text().await.unwrap_or_default();
            (status, text).into_response()
        }
        Err(_) => {
            if let Ok(mut f) = relay.forwarded.lock() {
                f.1 += 1;
            }
            StatusCode::BAD_GATEWAY.into_response()
        }
    }
}

/// `a=1&b=2` as pairs (values as sent: tokens are hex, no decoding needed).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_split() {
        assert_eq!(
            url_pairs("token=abc&x=1&bare"),
            vec![
                ("token".to_owned(), "abc".to_owned()),
                ("x".to_owned(), "1".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn the_relay_records_tokens_and_answers_502_when_the_target_is_down() {
        let port = free_port().unwrap();
        let relay = Relay::new(format!("http://127.0.0.1:{port}"), reqwest::Client::new());
        let base = relay.serve().await.unwrap();
        let answer = reqwest::Client::new()
            .post(format!("{base}/v1/notifications/pay_1?token=feed"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 502);
        assert_eq!(relay.tokens(), HashSet::from(["feed".to_owned()]));
        assert_eq!(relay.forwarded(), (0, 1));
    }

    #[tokio::test]
    async fn the_relay_drops_most_notifications_of_a_lossy_payment_and_forwards_none_of_them() {
        let port = free_port().unwrap();
        let relay = Relay::new(format!("http://127.0.0.1:{port}"), reqwest::Client::new());
        let base = relay.serve().await.unwrap();
        relay.drop_notifications_of("pay_lossy");
        let http = reqwest::Client::new();
        for _ in 0..50 {
            let answer = http
                .post(format!("{base}/v1/notifications/pay_lossy?token=t"))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 502);
        }
        // The target is down, so every notification that was not dropped counts as refused there.
        let (forwarded, refused) = relay.forwarded();
        assert_eq!(forwarded, 0);
        assert_eq!(relay.dropped() + refused, 50);
        assert!(relay.dropped() >= 35, "{} of 50 dropped", relay.dropped());
        http.post(format!("{base}/v1/notifications/pay_other?token=t"))
            .send()
            .await
            .unwrap();
        assert_eq!(relay.dropped() + relay.forwarded().1, 51);
        assert!(
            relay.forwarded().1 > refused,
            "another payment's notification is never dropped"
        );
    }
}
