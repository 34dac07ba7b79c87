//! Command-line flags of `glase-local`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// What the local stack was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The address to bind; loopback unless asked otherwise.
    pub bind: IpAddr,
    /// The port of the whole system (API, WebSocket, shop, widget, sandbox).
    pub port: u16,
    /// Where the embedded DynamoDB keeps its data, so a restart loses nothing.
    pub data_dir: PathBuf,
    /// A real Glase endpoint instead of the built-in sandbox.
    pub glase_endpoint: Option<String>,
    /// Origins of shop pages on another origin that embed the widget: the API answers them with the CORS
    /// rules the template deploys (its `WidgetOrigin` parameter). None: no CORS answers.
    pub widget_origins: Vec<String>,
}

/// The usage text.
pub const USAGE: &str = "\
usage: glase-local [--bind 127.0.0.1] [--port 3000] [--data-dir .local] [--glase-endpoint URL]
                   [--widget-origin ORIGIN]...

Runs every function of the Glase payment backend in one process, with an embedded DynamoDB (dynoxide,
persisted in --data-dir), an in-process refund queue and schedules, the WebSocket endpoint, the Glase
sandbox (SOAP under /glase/extclientproxy/service/v2, controls under /sandbox/), a demo shop (/shop/) and
the checkout widget (/widget/glase-checkout.js). --widget-origin (repeatable) lets a shop page on that
origin (scheme://host:port) read payments cross-origin, with the CORS rules of the AWS template.

Environment (a variable the functions read means the same here and is checked the same way):
  GLASE_API_KEY          the merchant API key to accept (default: one generated and kept in --data-dir)
  CLIENT_SECRET_KEY      the key client secrets derive from, 32 bytes or more (default: one generated
                         and kept in --data-dir, so a replay after a restart answers the same secret)
  GLASE_ENDPOINT         same as --glase-endpoint; then GLASE_TERMINAL_ID, GLASE_TERMINAL_PASSWORD,
                         GLASE_RESELLER_ID and GLASE_RESELLER_PASSWORD are required (GLASE_RESELLER_USER_ID
                         is optional), as the functions require them
  AWS_ENDPOINT_URL_DYNAMODB and TABLE_NAME
                         use that DynamoDB (through the SDK's own settings) instead of the embedded one
  GLASE_TIMEOUT_MS       the timeout of one Glase request (default 10000)
  PUBLIC_BASE_URL        the base of notification URLs (default: this process's own address)
  PAYMENT_EXPIRY_SECONDS how long an unpaid payment lives (default 120)
  SDK_OPERATION_TIMEOUT_MS, SDK_ATTEMPT_TIMEOUT_MS
                         the DynamoDB client's timeouts (default 3000 and 1000)
  For soak tests only:
  GLASE_LOCAL_STORE_FAULTS
                         fail a share of store requests: throttle=P,conflict=P[,seed=N] (default none);
                         the counts are printed every 2 s and at exit
  GLASE_LOCAL_REFUND_SETTLE_MARGIN_SECONDS
                         refunds unknown this shortly before a period's mark wait for the next (default 300)
  GLASE_LOCAL_REFUND_SENDING_SECONDS
                         a refund left sending this long (a crash mid-call) needs reconciliation (default 300)
  GLASE_LOCAL_IDEMPOTENCY_LEASE_SECONDS
                         how long a running request holds its Idempotency-Key (default 60)
";

/// Why the flags cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsError(pub String);

impl Args {
    /// Parses the flags (without the program name); `Ok(None)` when help was asked for.
    pub fn parse(
        mut flags: impl Iterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Args>, ArgsError> {
        let mut args = Args {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 3000,
            data_dir: PathBuf::from(".local"),
            glase_endpoint: env("GLASE_ENDPOINT").filter(|v| !v.is_empty()),
            widget_origins: Vec::new(),
        };
        while let Some(flag) = flags.next() {
            let mut value = |name: &str| {
                flags
                    .next()
                    .ok_or_else(|| ArgsError(format!("{name} needs a value")))
            };
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--bind" => {
                    let v = value("--bind")?;
                    args.bind = v
                        .parse()
                        .map_err(|_| ArgsError(format!("--bind: not an IP address: {v}")))?;
                }
                "--port" => {
                    let v = value("--port")?;
                    args.port = v
                        .parse()
                        .map_err(|_| ArgsError(format!("--port: not a port number: {v}")))?;
                }
                "--data-dir" => args.data_dir = PathBuf::from(value("--data-dir")?),
                "--glase-endpoint" => args.glase_endpoint = Some(value("--glase-endpoint")?),
                "--widget-origin" => {
                    let v = value("--widget-origin")?;
                    if !is_origin(&v) {
                        return Err(ArgsError(format!(
                            "--widget-origin: not an origin (scheme://host[:port]): {v}"
                        )));
                    }
                    args.widget_origins.push(v);
                }
                other => return Err(ArgsError(format!("unknown flag {other}"))),
            }
        }
        Ok(Some(args))
    }
}

/// `scheme://host[:port]` with an http(s) scheme and nothing after the authority.
fn is_origin(value: &str) -> bool {
    let Some((scheme, authority)) = value.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && !authority.contains(['/', '?', '#', ' ', '@'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<Option<Args>, ArgsError> {
        Args::parse(flags.iter().map(|s| (*s).to_owned()), |_| None)
    }

    #[test]
    fn the_defaults_bind_loopback_on_port_3000() {
        let a = parse(&[]).unwrap().unwrap();
        assert_eq!(a.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(a.port, 3000);
        assert_eq!(a.glase_endpoint, None);
    }

    #[test]
    fn flags_override_the_defaults() {
        let a = parse(&[
            "--port",
            "0",
            "--data-dir",
            "/tmp/x",
            "--glase-endpoint",
            "http://127.0.0.1:9/s",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.port, 0);
        assert_eq!(a.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(a.glase_endpoint.as_deref(), Some("http://127.0.0.1:9/s"));
    }

    #[test]
    fn the_environment_can_name_the_glase_endpoint() {
        let a = Args::parse(std::iter::empty(), |k| {
            (k == "GLASE_ENDPOINT").then(|| "http://g/x".to_owned())
        })
        .unwrap()
        .unwrap();
        assert_eq!(a.glase_endpoint.as_deref(), Some("http://g/x"));
    }

    #[test]
    fn bad_flags_are_named() {
        assert_eq!(
            parse(&["--port", "many"]).unwrap_err(),
            ArgsError("--port: not a port number: many".into())
        );
        assert_eq!(
            parse(&["--frobnicate"]).unwrap_err(),
            ArgsError("unknown flag --frobnicate".into())
        );
        assert_eq!(
            parse(&["--port"]).unwrap_err(),
            ArgsError("--port needs a value".into())
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
        assert_eq!(
            parse(&["--widget-origin", "http://shop.example/checkout"]).unwrap_err(),
            ArgsError(
                "--widget-origin: not an origin (scheme://host[:port]): http://shop.example/checkout".into()
            )
        );
    }

    #[test]
    fn widget_origins_are_collected() {
        let a = parse(&[
            "--widget-origin",
            "https://shop.example",
            "--widget-origin",
            "http://127.0.0.1:8080",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            a.widget_origins,
            ["https://shop.example", "http://127.0.0.1:8080"]
        );
        assert!(parse(&[]).unwrap().unwrap().widget_origins.is_empty());
    }
}
