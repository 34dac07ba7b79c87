//! `glase-sandbox`: serves the Glase sandbox until Ctrl-C or SIGTERM.
//!
//! ```text
//! glase-sandbox [--bind 127.0.0.1] [--port 8913] [--config sandbox.toml|sandbox.json]
//! ```
//!
//! It prints `glase-sandbox listening on http://ADDR` on stdout once ready, then one log line per call on
//! stderr (`RUST_LOG` filters, default `info`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use glase_sandbox::SandboxConfig;

const USAGE: &str = "usage: glase-sandbox [--bind ADDR] [--port PORT] [--config FILE]\n\
  --bind ADDR    address to listen on (default 127.0.0.1)\n\
  --port PORT    port to listen on, 0 for any free port (default 8913)\n\
  --config FILE  JSON configuration, or TOML when FILE ends in .toml (default: built-in defaults)\n";

#[derive(Debug, PartialEq)]
struct Args {
    bind: IpAddr,
    port: u16,
    config: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        bind: IpAddr::from([127, 0, 0, 1]),
        port: 8913,
        config: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{what} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bind" => parsed.bind = value("--bind")?.parse().map_err(|e| format!("--bind: {e}"))?,
            "--port" => parsed.port = value("--port")?.parse().map_err(|e| format!("--port: {e}"))?,
            "--config" => parsed.config = Some(PathBuf::from(value("--config")?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr (stdout carries only the "listening on" line), coloured only on a terminal.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprint!("glase-sandbox: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match &args.config {
        Some(path) => match SandboxConfig::from_file(path) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("glase-sandbox: {e}");
                return ExitCode::from(2);
            }
        },
        None => SandboxConfig::default(),
    };
    let handle = match glase_sandbox::spawn(config, SocketAddr::new(args.bind, args.port)).await {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("glase-sandbox: cannot listen on {}:{}: {e}", args.bind, args.port);
            return ExitCode::from(1);
        }
    };
    println!("glase-sandbox listening on {}", handle.base_url());
    tracing::info!(endpoint = %handle.soap_endpoint_url(), phone = %format!("{}/sandbox/phone", handle.base_url()), "ready");
    handle.serve_until_signal().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_and_flags_parse() {
        let d = args(&[]).unwrap().unwrap();
        assert_eq!(
            (d.bind.to_string(), d.port, d.config),
            ("127.0.0.1".into(), 8913, None)
        );
        let a = args(&["--port", "0", "--bind=0.0.0.0", "--config", "x.toml"])
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.bind.to_string(), a.port, a.config),
            ("0.0.0.0".into(), 0, Some(PathBuf::from("x.toml")))
        );
        assert_eq!(args(&["--help"]).unwrap(), None);
        assert!(args(&["--port"]).is_err());
        assert!(args(&["--port", "x"]).is_err());
        assert!(args(&["--verbose"]).is_err());
    }
}
