//! Secrets at cold start: each secret variable (`env::SECRETS`) that a function reads comes from its own
//! Secrets Manager secret, whose ARN is in the variable `<NAME>_SECRET_ARN` (for example
//! `API_KEY_HASHES_SECRET_ARN`) and whose string is the value itself. Every named secret is read once,
//! all at the same time, and layered over the process environment; a function is given the ARNs (and
//! the right to read them) of the secrets its settings need and no other. Without any such variable (on
//! a laptop) the process environment is used alone. Values never reach logs or `Debug` output.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

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
    /// The secret of one variable holds a JSON object instead of the variable's value.
    #[error("the secret of {variable} holds a JSON object; it must hold the value of {variable} alone")]
    JsonObject {
        /// The secret variable.
        variable: &'static str,
    },
}

/// Reads one secret's string by ARN (Secrets Manager in AWS, a fake in tests).
pub trait SecretFetcher {
    /// The secret's string value.
    fn fetch(&self, arn: &str) -> impl Future<Output = Result<SecretString, SecretsError>> + Send;
}

/// Secrets Manager, reached with this AWS configuration. The client is built only when a secret is
/// fetched: a function without any `<NAME>_SECRET_ARN` (a laptop, the benchmarks) does not pay for it.
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

/// The environment of a function at cold start: for every secret variable whose `<NAME>_SECRET_ARN` is
/// set in `base`, that secret's value (all fetched at once, here) layered over `base`; `base` alone when
/// none is set.
///
/// The future is boxed as a trait object, so the functions' start-up futures stay within the compiler's
/// type-depth limit however deep the SDK's futures are.
pub fn load<'a, E: EnvSource + Send + Sync + 'a>(
    base: E,
    fetcher: &'a (impl SecretFetcher + Sync),
) -> Pin<Box<dyn Future<Output = Result<Layered<E>, SecretsError>> + Send + 'a>> {
    Box::pin(load_from(base, fetcher))
}

async fn load_from<E: EnvSource + Send + Sync>(
    base: E,
    fetcher: &(impl SecretFetcher + Sync),
) -> Result<Layered<E>, SecretsError> {
    let named: Vec<(&'static str, String)> = env::SECRETS
        .iter()
        .filter_map(|name| {
            base.get(&env::secret_arn_variable(name))
                .filter(|arn| !arn.is_empty())
                .map(|arn| (*name, arn))
        })
        .collect();
    type Fetch<'a> = Pin<Box<dyn Future<Output = Result<(String, SecretString), SecretsError>> + Send + 'a>>;
    let fetches: Vec<Fetch<'_>> = named
        .iter()
        .map(|(name, arn)| -> Fetch<'_> {
            Box::pin(async move {
                let value = fetcher.fetch(arn).await?;
                // A JSON object is what one secret holding every variable looked like: its text is not
                // the value of one variable, so it is refused rather than used as a password.
                let text = value.expose_secret().trim_start();
                if text.starts_with('{')
                    && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).is_ok()
                {
                    return Err(SecretsError::JsonObject { variable: name });
                }
                Ok((name.to_string(), value))
            })
        })
        .collect();
    let fetched = futures::future::try_join_all(fetches).await?;
    Ok(Layered {
        secrets: fetched.into_iter().collect(),
        base,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Secrets by ARN; records every ARN asked for.
    struct Fake {
        values: BTreeMap<&'static str, &'static str>,
        asked: Mutex<Vec<String>>,
    }

    impl SecretFetcher for Fake {
        async fn fetch(&self, arn: &str) -> Result<SecretString, SecretsError> {
            self.asked.lock().unwrap().push(arn.to_owned());
            match self.values.get(arn) {
                Some(value) => Ok(SecretString::from(*value)),
                None => Err(SecretsError::Fetch {
                    arn: arn.to_owned(),
                    reason: "no such secret".to_owned(),
                }),
            }
        }
    }

    fn fake(values: &[(&'static str, &'static str)]) -> Fake {
        Fake {
            values: values.iter().copied().collect(),
            asked: Mutex::new(Vec::new()),
        }
    }

    fn base(arns: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("TABLE_NAME".to_owned(), "payments".to_owned());
        m.insert("GLASE_TERMINAL_PASSWORD".to_owned(), "from-env".to_owned());
        for (name, arn) in arns {
            m.insert(env::secret_arn_variable(name), (*arn).to_owned());
        }
        m
    }

    #[tokio::test]
    async fn each_named_secret_is_fetched_once_and_wins_over_the_environment() {
        let fetcher = fake(&[("arn:terminal", "hunter2"), ("arn:keys", "sha256:ab")]);
        let env = load(
            base(&[
                ("GLASE_TERMINAL_PASSWORD", "arn:terminal"),
                ("API_KEY_HASHES", "arn:keys"),
            ]),
            &fetcher,
        )
        .await
        .unwrap();
        assert_eq!(env.get("GLASE_TERMINAL_PASSWORD").as_deref(), Some("hunter2"));
        assert_eq!(env.get("API_KEY_HASHES").as_deref(), Some("sha256:ab"));
        assert_eq!(env.get("TABLE_NAME").as_deref(), Some("payments"));
        assert_eq!(env.get("GLASE_RESELLER_PASSWORD"), None);
        let mut asked = fetcher.asked.lock().unwrap().clone();
        asked.sort();
        assert_eq!(asked, vec!["arn:keys", "arn:terminal"]);
        let debug = format!("{env:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("from-env"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn only_the_secrets_the_environment_names_are_fetched() {
        let fetcher = fake(&[("arn:terminal", "hunter2"), ("arn:keys", "sha256:ab")]);
        let env = load(base(&[("API_KEY_HASHES", "arn:keys")]), &fetcher)
            .await
            .unwrap();
        assert_eq!(*fetcher.asked.lock().unwrap(), vec!["arn:keys"]);
        assert_eq!(env.get("GLASE_TERMINAL_PASSWORD").as_deref(), Some("from-env"));
    }

    #[tokio::test]
    async fn without_an_arn_the_environment_is_used_alone() {
        let fetcher = fake(&[]);
        let env = load(base(&[]), &fetcher).await.unwrap();
        assert_eq!(env.get("GLASE_TERMINAL_PASSWORD").as_deref(), Some("from-env"));
        assert!(fetcher.asked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_secret_that_cannot_be_read_or_holds_an_object_is_a_typed_error_that_does_not_echo_it() {
        let err = load(base(&[("API_KEY_HASHES", "arn:missing")]), &fake(&[]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SecretsError::Fetch { ref arn, .. } if arn == "arn:missing"),
            "{err:?}"
        );
        let fetcher = fake(&[("arn:all", r#"{"GLASE_TERMINAL_PASSWORD":"hunter2"}"#)]);
        let err = load(base(&[("GLASE_TERMINAL_PASSWORD", "arn:all")]), &fetcher)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SecretsError::JsonObject {
                variable: "GLASE_TERMINAL_PASSWORD"
            }
        );
        assert!(!err.to_string().contains("hunter2"));
    }
}
