//! One `glase-local` process for a test: started on a free loopback port over a data directory, with
//! everything it prints kept, stopped by its process id (killed, or interrupted as Ctrl-C does), killed
//! when dropped; and the few HTTP steps the tests take against it.

use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A fresh data directory under the system's temporary directory (created by glase-local).
pub fn data_dir(purpose: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glase-local-{purpose}-{:x}", rand::random::<u64>()))
}

/// A running glase-local.
pub struct Running {
    child: Child,
    /// Where it listens, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// The API key its banner shows.
    pub api_key: String,
    printed: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

/// Starts glase-local over `data` with `env` set (a `None` value removes the variable) on top of an
/// environment without the variables that would point it elsewhere (`GLASE_API_KEY`, `GLASE_ENDPOINT`,
/// `AWS_ENDPOINT_URL_DYNAMODB`) or change its log level (`RUST_LOG`, `AWS_LAMBDA_LOG_LEVEL`), and waits
/// for its banner.
pub fn start(data: &Path, env: &[(&str, Option<&str>)]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_glase-local"));
    command.args(["--port", "0", "--data-dir"]).arg(data);
    for name in [
        "GLASE_API_KEY",
        "GLASE_ENDPOINT",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "RUST_LOG",
        "AWS_LAMBDA_LOG_LEVEL",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("glase-local starts");
    let printed = Arc::new(Mutex::new(Vec::new()));
    let (banner_tx, banner_rx) = mpsc::channel();
    let readers = vec![
        keep_lines(
            child.stdout.take().unwrap(),
            Arc::clone(&printed),
            Some(banner_tx),
        ),
        keep_lines(child.stderr.take().unwrap(), Arc::clone(&printed), None),
    ];
    let (base, api_key) = banner_rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no banner from glase-local: {:?}", printed.lock().unwrap()));
    assert!(base.starts_with("http://127.0.0.1:"), "binds loopback: {base}");
    assert!(api_key.starts_with("sk_"), "{api_key}");
    Running {
        child,
        base,
        api_key,
        printed,
        readers,
    }
}

/// Keeps every line `from` prints; on the stream that carries the banner, sends the listening address
/// and the API key once the banner's last line (`data …`) has come.
fn keep_lines(
    from: impl Read + Send + 'static,
    printed: Arc<Mutex<Vec<String>>>,
    banner: Option<mpsc::Sender<(String, String)>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let (mut base, mut api_key) = (String::new(), String::new());
        let mut banner = banner;
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("glase-local listening on ") {
                base = rest.trim().to_owned();
            }
            if let Some(rest) = line.trim().strip_prefix("API key") {
                api_key = rest.trim().to_owned();
            }
            if line.trim().starts_with("data")
                && let Some(tx) = banner.take()
            {
                let _ = tx.send((base.clone(), api_key.clone()));
            }
            printed.lock().unwrap().push(line);
        }
    })
}

impl Running {
    /// Stops the process and answers every line it printed on standard output and standard error.
    pub fn stop(mut self) -> Vec<String> {
        self.kill();
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        self.printed.lock().unwrap().clone()
    }

    /// Stops the process as Ctrl-C in its terminal does (SIGINT, sent to its process id), waits up to
    /// 30 seconds for it to exit, and answers its exit status and every line it printed on standard
    /// output and standard error.
    pub fn interrupt(mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -INT {pid}: {sent}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("the process can be waited for") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "glase-local did not stop within 30 s of SIGINT: {:?}",
                self.printed.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        (status, self.printed.lock().unwrap().clone())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP client for loopback that follows no redirect (a test reads each `Location` itself).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends `request` and answers its body as JSON.
pub async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// Sends `request` and checks that it is answered with a success status.
pub async fn send_ok(request: reqwest::RequestBuilder) {
    let answer = request.send().await.unwrap();
    assert!(answer.status().is_success(), "{answer:?}");
}

/// Sends `request` and answers its body as text.
pub async fn text(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Reads with `read` every 250 ms, at most 40 times (10 s), until `done` holds of a reading, and
/// answers the last reading.
pub async fn poll<T, F: Future<Output = T>>(mut read: impl FnMut() -> F, done: impl Fn(&T) -> bool) -> T {
    let mut reading = read().await;
    for _ in 1..40 {
        if done(&reading) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        reading = read().await;
    }
    reading
}
