//! One tracing initialiser for every function and for the local stack.
//!
//! It honours Lambda's advanced logging controls: `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`) and
//! `AWS_LAMBDA_LOG_LEVEL` (`TRACE` … `FATAL`), falling back to `RUST_LOG` and then `info`. Log lines
//! carry span fields (payment id, request id) but never request bodies or secrets: handlers record
//! identifiers only, and every secret type redacts itself in `Debug`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::EnvSource;

/// The output format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, what CloudWatch Logs Insights queries best.
    Json,
    /// Human-readable text, the default on a laptop.
    Text,
}

/// How logging is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The line format.
    pub format: LogFormat,
    /// An `EnvFilter` directive, such as `info` or `payments_api=debug,info`.
    pub filter: String,
}

impl LogSettings {
    /// Reads the settings the way Lambda defines them, with `default_format` when nothing says.
    pub fn from_env(env: &dyn EnvSource, default_format: LogFormat) -> Self {
        let format = match env.get("AWS_LAMBDA_LOG_FORMAT") {
            Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(f) if f.eq_ignore_ascii_case("text") => LogFormat::Text,
            _ => default_format,
        };
        let filter = env
            .get("AWS_LAMBDA_LOG_LEVEL")
            .map(|level| lambda_level_directive(&level))
            .or_else(|| env.get("RUST_LOG"))
            .unwrap_or_else(|| "info".to_owned());
        Self { format, filter }
    }
}

/// Lambda's level names as `tracing` directives; `FATAL` has no twin and means `error`.
fn lambda_level_directive(level: &str) -> String {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "info",
    }
    .to_owned()
}

/// Installs the global subscriber writing to standard output. Call once, first thing in `main`.
/// A second call (as in tests that share a process) leaves the first subscriber in place.
pub fn init(settings: &LogSettings) {
    let _ = install(settings, std::io::stdout);
}

/// Installs the global subscriber writing to `writer`; `Err` if one was already installed.
pub fn install<W>(settings: &LogSettings, writer: W) -> Result<(), tracing_subscriber::util::TryInitError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .without_time()
            .finish()
            .try_init(),
        LogFormat::Text => builder.finish().try_init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn lambda_log_controls_win_over_rust_log() {
        let s = LogSettings::from_env(
            &env(&[
                ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
                ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
                ("RUST_LOG", "trace"),
            ]),
            LogFormat::Text,
        );
        assert_eq!(
            s,
            LogSettings {
                format: LogFormat::Json,
                filter: "warn".into()
            }
        );
    }

    #[test]
    fn without_lambda_controls_rust_log_and_the_default_format_apply() {
        let s = LogSettings::from_env(&env(&[("RUST_LOG", "debug")]), LogFormat::Text);
        assert_eq!(
            s,
            LogSettings {
                format: LogFormat::Text,
                filter: "debug".into()
            }
        );
        let s = LogSettings::from_env(&env(&[]), LogFormat::Json);
        assert_eq!(
            s,
            LogSettings {
                format: LogFormat::Json,
                filter: "info".into()
            }
        );
    }

    #[test]
    fn fatal_maps_to_error() {
        assert_eq!(lambda_level_directive("fatal"), "error");
        assert_eq!(lambda_level_directive("Trace"), "trace");
    }
}
