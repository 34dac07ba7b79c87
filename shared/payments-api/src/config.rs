//! Typed configuration read from the environment, shared by every function.
//!
//! Each function asks for the settings it needs from one [`EnvReader`]; the reader collects every
//! missing or malformed variable and [`EnvReader::finish`] reports them all at once, so a deployment
//! with three mistakes fails with one message naming all three instead of three cold starts in a row.
//! Values that are secrets are read into [`SecretString`] and never appear in `Debug` output or errors.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

/// Where configuration values come from: the process environment in production, a map in tests.
pub trait EnvSource {
    /// The value of `name`, if it is set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// The variable is required and not set (or empty).
    Missing(&'static str),
    /// The variable is set but cannot be used; the reason never repeats a secret value.
    Invalid { name: &'static str, reason: String },
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigProblem::Missing(name) => write!(f, "{name} is not set"),
            ConfigProblem::Invalid { name, reason } => write!(f, "{name} is invalid: {reason}"),
        }
    }
}

/// Every problem found while reading the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ConfigError {
    /// The problems, in the order they were found.
    pub problems: Vec<ConfigProblem>,
}

/// Reads variables from an [`EnvSource`] and remembers every problem.
pub struct EnvReader<'a> {
    source: &'a dyn EnvSource,
    problems: Vec<ConfigProblem>,
}

impl fmt::Debug for EnvReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvReader")
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl<'a> EnvReader<'a> {
    /// A reader over `source`.
    pub fn new(source: &'a dyn EnvSource) -> Self {
        Self {
            source,
            problems: Vec::new(),
        }
    }

    fn value(&self, name: &str) -> Option<String> {
        self.source
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A required plain value; records a problem and answers an empty string when it is missing.
    pub fn required(&mut self, name: &'static str) -> String {
        match self.value(name) {
            Some(v) => v,
            None => {
                self.problems.push(ConfigProblem::Missing(name));
                String::new()
            }
        }
    }

    /// An optional plain value.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.value(name)
    }

    /// A required secret value.
    pub fn required_secret(&mut self, name: &'static str) -> SecretString {
        SecretString::from(self.required(name))
    }

    /// [`Self::required`] when `needed`; otherwise empty, and not read.
    pub fn required_if(&mut self, needed: bool, name: &'static str) -> String {
        if needed {
            self.required(name)
        } else {
            String::new()
        }
    }

    /// [`Self::required_secret`] when `needed`; otherwise empty, and not read.
    pub fn required_secret_if(&mut self, needed: bool, name: &'static str) -> SecretString {
        SecretString::from(self.required_if(needed, name))
    }

    /// An optional value parsed with `parse`, or `default` when unset.
    pub fn parsed_or<T>(
        &mut self,
        name: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        match self.value(name) {
            None => default,
            Some(raw) => match parse(&raw) {
                Ok(v) => v,
                Err(reason) => {
                    self.problems.push(ConfigProblem::Invalid { name, reason });
                    default
                }
            },
        }
    }

    /// An optional duration in milliseconds, or `default`.
    pub fn millis_or(&mut self, name: &'static str, default: Duration) -> Duration {
        self.parsed_or(name, default, |raw| {
            raw.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| "expected a whole number of milliseconds".to_owned())
        })
    }

    /// An optional duration in seconds, or `default`.
    pub fn seconds_or(&mut self, name: &'static str, default: Duration) -> Duration {
        self.parsed_or(name, default, |raw| {
            raw.parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| "expected a whole number of seconds".to_owned())
        })
    }

    /// A required absolute `http://` or `https://` URL, without a trailing slash.
    pub fn required_url(&mut self, name: &'static str) -> String {
        let raw = self.required(name);
        if raw.is_empty() {
            return raw;
        }
        if !(raw.starts_with("http://") || raw.starts_with("https://")) {
            self.problems.push(ConfigProblem::Invalid {
                name,
                reason: "expected an absolute http:// or https:// URL".to_owned(),
            });
        }
        raw.trim_end_matches('/').to_owned()
    }

    /// Records a problem found by the caller while interpreting a value.
    pub fn invalid(&mut self, name: &'static str, reason: impl Into<String>) {
        self.problems.push(ConfigProblem::Invalid {
            name,
            reason: reason.into(),
        });
    }

    /// Ends reading: `Ok` when nothing was missing or malformed.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::env_map as env;
    use secrecy::ExposeSecret;

    #[test]
    fn every_missing_variable_is_named_in_one_error() {
        let source = env(&[("PRESENT", "x")]);
        let mut reader = EnvReader::new(&source);
        assert_eq!(reader.required("PRESENT"), "x");
        reader.required("FIRST_MISSING");
        reader.required_secret("SECOND_MISSING");
        let err = reader.finish().unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                ConfigProblem::Missing("FIRST_MISSING"),
                ConfigProblem::Missing("SECOND_MISSING")
            ]
        );
        let text = err.to_string();
        assert!(text.contains("FIRST_MISSING is not set") && text.contains("SECOND_MISSING is not set"));
    }

    #[test]
    fn an_empty_value_counts_as_missing() {
        let source = env(&[("BLANK", "  ")]);
        let mut reader = EnvReader::new(&source);
        reader.required("BLANK");
        assert_eq!(
            reader.finish().unwrap_err().problems,
            vec![ConfigProblem::Missing("BLANK")]
        );
    }

    #[test]
    fn a_malformed_number_is_reported_and_the_default_kept() {
        let source = env(&[("TIMEOUT_MS", "soon")]);
        let mut reader = EnvReader::new(&source);
        assert_eq!(
            reader.millis_or("TIMEOUT_MS", Duration::from_millis(5)),
            Duration::from_millis(5)
        );
        let err = reader.finish().unwrap_err();
        assert!(matches!(
            &err.problems[0],
            ConfigProblem::Invalid {
                name: "TIMEOUT_MS",
                ..
            }
        ));
    }

    #[test]
    fn durations_and_urls_are_parsed() {
        let source = env(&[("MS", "250"), ("S", "120"), ("URL", "https://shop.example/api/")]);
        let mut reader = EnvReader::new(&source);
        assert_eq!(reader.millis_or("MS", Duration::ZERO), Duration::from_millis(250));
        assert_eq!(reader.seconds_or("S", Duration::ZERO), Duration::from_secs(120));
        assert_eq!(reader.required_url("URL"), "https://shop.example/api");
        reader.finish().unwrap();
    }

    #[test]
    fn a_url_without_scheme_is_rejected() {
        let source = env(&[("URL", "shop.example")]);
        let mut reader = EnvReader::new(&source);
        reader.required_url("URL");
        assert!(reader.finish().is_err());
    }

    #[test]
    fn a_secret_is_readable_but_never_debug_printed() {
        let source = env(&[("PASSWORD", "hunter2-very-secret")]);
        let mut reader = EnvReader::new(&source);
        let secret = reader.required_secret("PASSWORD");
        assert_eq!(secret.expose_secret(), "hunter2-very-secret");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{reader:?}").contains("hunter2"));
    }
}
