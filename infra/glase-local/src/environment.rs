//! The local stack's settings, read by the functions' own settings code ([`Settings`], [`EnvReader`])
//! from the environment, with the values the stack provides itself filled in: the sandbox's endpoint and
//! credentials, the keys it keeps in the data directory, its own address and the embedded table.
//!
//! A variable the functions read means the same here and is checked the same way (a malformed
//! `PAYMENT_EXPIRY_SECONDS` stops the start with the same message a function's cold start gives). With a
//! real Glase endpoint, the stack needs the variables any function needs for it: the webshop terminal's
//! and the reseller's credentials. The refund queue and the WebSocket pushes are in-process, so
//! `REFUND_QUEUE_URL` and `WEBSOCKET_ENDPOINT` are not read.

use std::collections::BTreeMap;
use std::time::Duration;

use payments_api::config::{ConfigError, EnvReader, EnvSource};
use payments_api::settings::{Need, Settings, env};
use payments_domain::faults::{StoreFaultRates, StoreFaultsParseError};
use payments_domain::idempotency::IdempotencyPolicy;
use payments_domain::usecases::reports::REFUND_SETTLE_MARGIN;

/// The table the embedded DynamoDB holds.
pub const EMBEDDED_TABLE: &str = "payments";

/// An environment with some values given by the stack: `fixed` ones win over the process's, `defaults`
/// apply where the process sets nothing (or an empty value).
pub struct LocalEnv<'a> {
    /// The process environment (or a map in tests).
    pub process: &'a dyn EnvSource,
    /// Values the stack decides (the sandbox's credentials, the accepted API key's hash).
    pub fixed: BTreeMap<&'static str, String>,
    /// Values the stack offers unless the environment names its own.
    pub defaults: BTreeMap<&'static str, String>,
}

impl EnvSource for LocalEnv<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.fixed
            .get(name)
            .cloned()
            .or_else(|| self.process.get(name).filter(|v| !v.trim().is_empty()))
            .or_else(|| self.defaults.get(name).cloned())
    }
}

/// The settings of every function, as one process serves them.
pub fn load(source: &LocalEnv<'_>) -> Result<Settings, ConfigError> {
    Settings::load_every_function(source, &[Need::RefundQueue, Need::Push])
}

/// Whether the SDK's own settings name a DynamoDB to use instead of the embedded one: an endpoint and a
/// table.
pub fn external_dynamodb(process: &dyn EnvSource) -> bool {
    let set = |name: &str| process.get(name).is_some_and(|v| !v.trim().is_empty());
    set("AWS_ENDPOINT_URL_DYNAMODB") && set(env::TABLE_NAME)
}

/// The settings only the local stack has, for soak tests.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakSettings {
    /// `GLASE_LOCAL_STORE_FAULTS`: the share of store requests that fail (none by default).
    pub store_faults: StoreFaultRates,
    /// `GLASE_LOCAL_REFUND_SETTLE_MARGIN_SECONDS`: refunds unknown this shortly before a period's mark
    /// wait for the next.
    pub refund_settle_margin: Duration,
    /// `GLASE_LOCAL_REFUND_SENDING_SECONDS`: a refund left `sending` this long goes to reconciliation.
    pub refund_sending: Duration,
    /// `GLASE_LOCAL_IDEMPOTENCY_LEASE_SECONDS`: how long a running request holds its Idempotency-Key.
    pub idempotency_lease: Duration,
}

impl SoakSettings {
    /// Reads them from `source`, naming every malformed one at once.
    pub fn load(source: &dyn EnvSource) -> Result<Self, ConfigError> {
        let mut r = EnvReader::new(source);
        let store_faults = r.parsed_or("GLASE_LOCAL_STORE_FAULTS", StoreFaultRates::NONE, |v| {
            v.parse().map_err(|e: StoreFaultsParseError| e.to_string())
        });
        let settings = Self {
            store_faults,
            refund_settle_margin: r
                .seconds_or("GLASE_LOCAL_REFUND_SETTLE_MARGIN_SECONDS", REFUND_SETTLE_MARGIN),
            refund_sending: r.seconds_or(
                "GLASE_LOCAL_REFUND_SENDING_SECONDS",
                payments_api::refund_batch::OUTBOX_ABANDONED_AFTER,
            ),
            idempotency_lease: r.seconds_or(
                "GLASE_LOCAL_IDEMPOTENCY_LEASE_SECONDS",
                IdempotencyPolicy::default().lease,
            ),
        };
        r.finish()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payments_api::config::ConfigProblem;

    fn process(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn store_faults_are_off_unless_asked_for() {
        let faults = |vars: &[(&str, &str)]| SoakSettings::load(&process(vars)).map(|s| s.store_faults);
        assert_eq!(faults(&[]), Ok(StoreFaultRates::NONE));
        let rates = faults(&[("GLASE_LOCAL_STORE_FAULTS", "throttle=0.05,conflict=0.1")]).unwrap();
        assert!(rates.is_active());
        assert_eq!((rates.throttle_ppm, rates.conflict_ppm), (50_000, 100_000));
        let e = faults(&[("GLASE_LOCAL_STORE_FAULTS", "throttle=5")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("GLASE_LOCAL_STORE_FAULTS is invalid: store faults: throttle"),
            "{e}"
        );
    }

    #[test]
    fn a_seconds_setting_has_a_default_and_names_a_bad_value() {
        let name = "GLASE_LOCAL_REFUND_SENDING_SECONDS";
        let sending = |vars: &[(&str, &str)]| SoakSettings::load(&process(vars)).map(|s| s.refund_sending);
        assert_eq!(sending(&[]), Ok(Duration::from_secs(300)));
        assert_eq!(sending(&[(name, "30")]), Ok(Duration::from_secs(30)));
        assert_eq!(
            sending(&[(name, "soon")]).unwrap_err().problems,
            vec![ConfigProblem::Invalid {
                name,
                reason: "expected a whole number of seconds".into()
            }]
        );
    }

    #[test]
    fn the_stack_fixes_what_it_decides_and_offers_defaults_the_environment_can_override() {
        let process = process(&[
            ("PUBLIC_BASE_URL", "https://tunnel.example"),
            ("API_KEY_HASHES", "ignored"),
        ]);
        let local = LocalEnv {
            process: &process,
            fixed: [("API_KEY_HASHES", "fixed".to_owned())].into(),
            defaults: [
                ("PUBLIC_BASE_URL", "http://127.0.0.1:3000".to_owned()),
                ("TABLE_NAME", "payments".to_owned()),
            ]
            .into(),
        };
        assert_eq!(local.get("API_KEY_HASHES").as_deref(), Some("fixed"));
        assert_eq!(
            local.get("PUBLIC_BASE_URL").as_deref(),
            Some("https://tunnel.example")
        );
        assert_eq!(local.get("TABLE_NAME").as_deref(), Some("payments"));
        assert_eq!(local.get("GLASE_ENDPOINT"), None);
    }

    #[test]
    fn a_real_glase_endpoint_needs_the_credentials_every_function_needs_and_names_them_all() {
        let process = process(&[("PAYMENT_EXPIRY_SECONDS", "soon")]);
        let local = LocalEnv {
            process: &process,
            fixed: [
                (env::GLASE_ENDPOINT, "https://glase.example/service".to_owned()),
                (env::TABLE_NAME, EMBEDDED_TABLE.to_owned()),
                (env::API_KEY_HASHES, "hash".to_owned()),
                (env::TERMINAL_PASSWORD_SECRET, "secret".to_owned()),
            ]
            .into(),
            defaults: [
                (env::PUBLIC_BASE_URL, "http://127.0.0.1:3000".to_owned()),
                (env::CLIENT_SECRET_KEY, "k".repeat(32)),
            ]
            .into(),
        };
        let e = load(&local).unwrap_err();
        let mut named: Vec<String> = e.problems.iter().map(ToString::to_string).collect();
        named.sort();
        assert_eq!(
            named,
            [
                "GLASE_RESELLER_ID is not set",
                "GLASE_RESELLER_PASSWORD is not set",
                "GLASE_TERMINAL_ID is not set",
                "GLASE_TERMINAL_PASSWORD is not set",
                "PAYMENT_EXPIRY_SECONDS is invalid: expected a whole number of seconds",
            ]
        );
    }
}
