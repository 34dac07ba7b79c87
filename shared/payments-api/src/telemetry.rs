//! One tracing initialiser for every function and for the local stack.
//!
//! It honours Lambda's advanced logging controls: `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`) and
//! `AWS_LAMBDA_LOG_LEVEL` (`TRACE` … `FATAL`), falling back to `RUST_LOG` and then `info`. Log lines
//! carry span fields (payment id, request id) but never request bodies or secrets: handlers record
//! identifiers only, and every secret type redacts itself in `Debug`.
//!
//! The level asked for applies to this project's crates. The libraries underneath print what passes
//! through them at their verbose levels: the Lambda runtime logs each raw event at `trace` (API keys,
//! client secrets, notification tokens), the AWS SDK logs whole requests and responses at `trace`, the
//! HTTP and TLS stacks log URLs (with their query, where notification tokens travel) at `debug`. So
//! [`DEPENDENCY_CAPS`] holds them at `info` whatever level is asked: no log level puts a secret in a log.

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
    /// The filter: comma-separated `target=level` directives and a bare default level, such as `info` or
    /// `payments_api=debug,info` (`tracing_subscriber::filter::Targets`). A filter that does not parse,
    /// or filters by span (`EnvFilter`'s `[span{field}]` syntax), logs at `info`.
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

/// Library targets (prefixes) never logged more verbosely than `info`, whatever level is asked for.
pub const DEPENDENCY_CAPS: &[&str] = &[
    "lambda_runtime",
    "lambda_http",
    "aws_lambda_events",
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_sigv4",
    "aws_credential_types",
    "aws_runtime",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
    "tokio_rustls",
    "tower",
    "tower_http",
    "axum",
    "dynoxide",
    "tungstenite",
    "tokio_tungstenite",
    "mio",
    "tokio",
];

/// The filter the subscriber applies: `settings.filter` for everything, and no more than `info` for
/// the targets of [`DEPENDENCY_CAPS`].
pub fn capped_filter(
    settings: &LogSettings,
) -> impl tracing_subscriber::layer::Filter<tracing_subscriber::Registry> + Send + Sync + 'static {
    use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
    // `Targets`, not `EnvFilter`: the directives a log level needs, without the regex engine that
    // `EnvFilter`'s span and field filters link into every function. A span directive
    // (`[span{field}]=level`) would read as a target no line has, so it counts as one that does not parse.
    let parsed = if settings.filter.contains(['[', '{']) {
        None
    } else {
        settings.filter.parse::<Targets>().ok()
    };
    let asked = parsed.unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let caps = DEPENDENCY_CAPS.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |targets, name| targets.with_target(*name, LevelFilter::INFO),
    );
    asked.and(caps)
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
    subscriber(settings, writer).try_init()
}

/// The subscriber [`install`] installs, for use with `tracing::subscriber::with_default`.
pub fn subscriber<W>(settings: &LogSettings, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_target(true);
    let layer = match settings.format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .without_time()
            .with_filter(capped_filter(settings))
            .boxed(),
        LogFormat::Text => layer.with_filter(capped_filter(settings)).boxed(),
    };
    tracing_subscriber::registry().with(layer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env_map as env;
    use test_support::CapturedLines;

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
    fn at_trace_our_crates_log_verbosely_and_the_libraries_stay_at_info() {
        for format in [LogFormat::Json, LogFormat::Text] {
            for filter in ["trace", "debug", "lambda_runtime=trace,hyper=trace,trace"] {
                let captured = CapturedLines::default();
                let writer = captured.clone();
                let settings = LogSettings {
                    format,
                    filter: filter.into(),
                };
                let subscriber = subscriber(&settings, move || writer.clone());
                tracing::subscriber::with_default(subscriber, || {
                    tracing::trace!(target: "payments_api::app", "ours at trace");
                    tracing::debug!(target: "payments_api::app", "ours at debug");
                    tracing::trace!(target: "lambda_runtime::layers::api_response", "raw event sk_live_1");
                    tracing::trace!(target: "aws_smithy_runtime::client", "request body cs_1");
                    tracing::debug!(target: "reqwest::connect", "url ?token=t_1");
                    tracing::debug!(target: "hyper_util::client", "headers");
                    tracing::info!(target: "lambda_runtime::runtime", "library info");
                });
                let text = captured.text();
                if filter != "debug" {
                    assert!(text.contains("ours at trace"), "{filter}: {text}");
                }
                assert!(text.contains("ours at debug"), "{filter}: {text}");
                assert!(text.contains("library info"), "{filter}: {text}");
                for leaked in ["sk_live_1", "cs_1", "t_1", "headers"] {
                    assert!(!text.contains(leaked), "{filter} {format:?}: {leaked} in {text}");
                }
            }
        }
    }

    #[test]
    fn a_quiet_level_is_quiet_for_the_libraries_too() {
        let captured = CapturedLines::default();
        let writer = captured.clone();
        let settings = LogSettings {
            format: LogFormat::Json,
            filter: "warn".into(),
        };
        tracing::subscriber::with_default(subscriber(&settings, move || writer.clone()), || {
            tracing::info!(target: "lambda_runtime::runtime", "library info");
            tracing::info!(target: "payments_api::app", "ours at info");
            tracing::warn!(target: "payments_api::app", "ours at warn");
        });
        let text = captured.text();
        assert!(text.contains("ours at warn"));
        assert!(!text.contains("info"), "{text}");
    }

    /// The lines logged under `filter`: one at debug and one at info, for `payments_api` and for
    /// `payments_domain`.
    fn logged_under(filter: &str) -> String {
        let captured = CapturedLines::default();
        let writer = captured.clone();
        let settings = LogSettings {
            format: LogFormat::Text,
            filter: filter.into(),
        };
        tracing::subscriber::with_default(subscriber(&settings, move || writer.clone()), || {
            tracing::debug!(target: "payments_api::app", "api at debug");
            tracing::info!(target: "payments_api::app", "api at info");
            tracing::debug!(target: "payments_domain::usecases", "domain at debug");
            tracing::info!(target: "payments_domain::usecases", "domain at info");
        });
        captured.text()
    }

    #[test]
    fn a_target_directive_sets_the_level_of_that_target_and_its_modules_only() {
        let text = logged_under("payments_api=debug,warn");
        assert!(text.contains("api at debug"), "{text}");
        assert!(text.contains("api at info"), "{text}");
        assert!(!text.contains("domain at"), "{text}");
    }

    #[test]
    fn a_filter_that_does_not_parse_logs_at_info() {
        for filter in [
            "payments_api=verbose",
            "[request{path}]=debug",
            "payments_api=debug=info",
        ] {
            let text = logged_under(filter);
            assert!(
                text.contains("api at info") && text.contains("domain at info"),
                "{filter}: {text}"
            );
            assert!(!text.contains("at debug"), "{filter}: {text}");
        }
    }

    #[test]
    fn fatal_maps_to_error() {
        assert_eq!(lambda_level_directive("fatal"), "error");
        assert_eq!(lambda_level_directive("Trace"), "trace");
    }
}
