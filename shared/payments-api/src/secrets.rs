//! Secrets at cold start: when `APP_SECRET_ARN` is set, the Secrets Manager secret it names is read once
//! (a JSON object whose keys are secret variable names such as `GLASE_TERMINAL_PASSWORD`) and layered
//! over the process environment; without it (on a laptop) the process environment is used alone.
//! Values never reach logs or `Debug` output.

use std::collections::BTreeMap;
use std::future::Future;

use secrecy::{ExposeSecret, SecretString};

use crate::config::EnvSource;
use crate::settings::env;

/// Why the secret could not be used. No variant carries a secret value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretsError {
    /// Secrets Manager did not answer the secret.
    #[error("the secret {arn} could not be read: {reason}")]
    Fetch {
        /// The secret's ARN.
        arn: String,
        /// What went wrong (never the value).
        reason: String,
    },
    /// The secret is not a JSON object of strings.
    #[error("the secret is not a JSON object of string values")]
    NotAnObject,
    /// The secret holds a key that is not a secret variable.
    #[error("the secret holds {0}, which is not a secret variable")]
    UnknownKey(String),
}

/// Reads one secret's string by ARN (Secrets Manager in AWS, a fake in tests).
pub trait SecretFetcher {
    /// The secret's string value.
    fn fetch(&self, arn: &str) -> impl Future<Output = Result<SecretString, SecretsError>> + Send;
}

/// Secrets Manager, reached with this AWS configuration. The client is built only when a secret is
/// fetched: a function without `APP_SECRET_ARN` (a laptop, the benchmarks) does not pay for it.
#[derive(Debug, Clone)]
pub struct SecretsManager(pub aws_config::SdkConfig);

impl SecretFetcher for SecretsManager {
    async fn fetch(&self, arn: &str) -> Result<SecretString, SecretsError> {
        let output = aws_sdk_secretsmanager::Client::new(&self.0)
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| SecretsError::Fetch {
                arn: arn.to_owned(),
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        let value = output.secret_string.ok_or_else(|| SecretsError::Fetch {
            arn: arn.to_owned(),
            reason: "the secret has no string value".to_owned(),
        })?;
        Ok(SecretString::from(value))
    }
}

/// The secret's values layered over another source: a variable in the secret wins.
pub struct Layered<E> {
    secrets: BTreeMap<String, SecretString>,
    base: E,
}

impl<E> std::fmt::Debug for Layered<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layered")
            .field("secret_names", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<E: EnvSource> EnvSource for Layered<E> {
    fn get(&self, name: &str) -> Option<String> {
        match self.secrets.get(name) {
            Some(value) => Some(value.expose_secret().to_owned()),
            None => self.base.get(name),
        }
    }
}

/// The environment of a function at cold start: `base` alone when it has no `APP_SECRET_ARN`, else the
/// secret (fetched once, here) layered over `base`.
pub async fn load<E: EnvSource>(base: E, fetcher: &impl SecretFetcher) -> Result<Layered<E>, SecretsError> {
    let Some(arn) = base.get(env::APP_SECRET_ARN).filter(|a| !a.is_empty()) else {
        return Ok(Layered {
            secrets: BTreeMap::new(),
            base,
        });
    };
    let text = fetcher.fetch(&arn).await?;
    let object: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(text.expose_secret()).map_err(|_| SecretsError::NotAnObject)?;
    let mut secrets = BTreeMap::new();
    for (name, value) in object {
        if !env::SECRETS.contains(&name.as_str()) {
            return Err(SecretsError::UnknownKey(name));
        }
        let serde_json::Value::String(value) = value else {
            return Err(SecretsError::NotAnObject);
        };
        secrets.insert(name, SecretString::from(value));
    }
    Ok(Layered { secrets, base })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Fake {
        value: &'static str,
        calls: AtomicUsize,
    }

    impl SecretFetcher for Fake {
        async fn fetch(&self, arn: &str) -> Result<SecretString, SecretsError> {
            assert_eq!(arn, "arn:secret");
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(SecretString::from(self.value))
        }
    }

    fn fake(value: &'static str) -> Fake {
        Fake {
            value,
            calls: AtomicUsize::new(0),
        }
    }

    fn base(with_arn: bool) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("TABLE_NAME".to_owned(), "payments".to_owned());
        m.insert("GLASE_TERMINAL_PASSWORD".to_owned(), "from-env".to_owned());
        if with_arn {
            m.insert("APP_SECRET_ARN".to_owned(), "arn:secret".to_owned());
        }
        m
    }

    #[tokio::test]
    async fn the_secret_is_fetched_once_and_wins_over_the_environment() {
        let fetcher = fake(r#"{"GLASE_TERMINAL_PASSWORD":"hunter2","API_KEY_HASHES":"sha256:ab"}"#);
        let env = load(base(true), &fetcher).await.unwrap();
        assert_eq!(env.get("GLASE_TERMINAL_PASSWORD").as_deref(), Some("hunter2"));
        assert_eq!(env.get("API_KEY_HASHES").as_deref(), Some("sha256:ab"));
        assert_eq!(env.get("TABLE_NAME").as_deref(), Some("payments"));
        assert_eq!(env.get("GLASE_RESELLER_PASSWORD"), None);
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
        let debug = format!("{env:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("from-env"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn without_an_arn_the_environment_is_used_alone() {
        let fetcher = fake("{}");
        let env = load(base(false), &fetcher).await.unwrap();
        assert_eq!(env.get("GLASE_TERMINAL_PASSWORD").as_deref(), Some("from-env"));
        assert_eq!(fetcher.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_malformed_secret_is_a_typed_error_that_does_not_echo_it() {
        let err = load(base(true), &fake("hunter2")).await.unwrap_err();
        assert_eq!(err, SecretsError::NotAnObject);
        assert!(!err.to_string().contains("hunter2"));
        let err = load(base(true), &fake(r#"{"GLASE_TERMINAL_PASSWORD":5}"#))
            .await
            .unwrap_err();
        assert_eq!(err, SecretsError::NotAnObject);
        let err = load(base(true), &fake(r#"{"TABLE_NAME":"x"}"#))
            .await
            .unwrap_err();
        assert_eq!(err, SecretsError::UnknownKey("TABLE_NAME".to_owned()));
    }
}
