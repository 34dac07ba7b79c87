//! The sandbox's configuration: accounts, timings and behaviour switches.
//!
//! Every field has a default, so an empty JSON object `{}` or an empty TOML file is a valid configuration.
//! Unknown fields are rejected so that a misspelt option is an error instead of being silently ignored.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The reseller (the merchant's shop account) that owns the terminals.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResellerAccount {
    /// The reseller id sent as `initiatorPrincipalId.id` with type `RESELLERUSER`.
    pub id: String,
    /// The reseller user id sent as `initiatorPrincipalId.userId`.
    pub user_id: String,
    /// The reseller user's password.
    pub password: String,
}

impl Default for ResellerAccount {
    fn default() -> Self {
        Self {
            id: "public_test_shop".into(),
            user_id: "9900".into(),
            password: "1234".into(),
        }
    }
}

impl std::fmt::Debug for ResellerAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResellerAccount")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A pre-provisioned webshop terminal: many open invoices at a time, not created by registerTerminal.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebshopTerminal {
    /// The terminal id sent as `initiatorPrincipalId.id` with type `TERMINALID`.
    pub terminal_id: String,
    /// The terminal's password.
    pub password: String,
    /// The name the shopper's app shows as the receiver (`receipt.receiverName`).
    #[serde(default = "default_terminal_name")]
    pub name: String,
}

fn default_terminal_name() -> String {
    "Glase Public Test Shop".into()
}

impl std::fmt::Debug for WebshopTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebshopTerminal")
            .field("terminal_id", &self.terminal_id)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .finish()
    }
}

/// What the notification POST carries in its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationBody {
    /// `application/x-www-form-urlencoded` with `invoiceReference` and `clientInvoiceId` (when the
    /// invoice has one).
    #[default]
    Form,
    /// An empty POST, as the unattended-POS and instant-checkout documents describe.
    Empty,
}

/// The whole sandbox configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// The reseller account.
    pub reseller: ResellerAccount,
    /// The pre-provisioned webshop terminals (default: one, `public_test_shop_terminal` / `12345678`).
    pub webshop_terminals: Vec<WebshopTerminal>,
    /// The shop name shown as `receiverName` for cash-register terminals' receipts.
    pub shop_name: String,
    /// The currencies accepted in invoices; any other currency is answered with 49.
    pub currencies: Vec<String>,
    /// The notification body mode.
    pub notification_body: NotificationBody,
    /// How long after a payment a `getPaymentStatus` returning PAID must arrive before the payment is
    /// reversed, in seconds.
    pub ack_window_secs: u64,
    /// How long after `markTransactionPeriod` the period's reports answer `REPORT_NOT_READY`, in
    /// milliseconds.
    pub report_delay_ms: u64,
    /// When set, an ISSUED invoice nobody paid becomes EXPIRED this many seconds after it was issued.
    pub unpaid_invoice_expiry_secs: Option<u64>,
    /// The reservation timeout used when a reservation invoice has no `commitReservationTimeout`.
    pub default_reservation_timeout_secs: u64,
    /// The timeout of one notification POST, in milliseconds.
    pub notification_timeout_ms: u64,
    /// The seed of the random generator behind identifiers and fault probabilities. Without one the
    /// generator is seeded from the operating system.
    pub seed: Option<u64>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            reseller: ResellerAccount::default(),
            webshop_terminals: vec![WebshopTerminal {
                terminal_id: "public_test_shop_terminal".into(),
                password: "12345678".into(),
                name: default_terminal_name(),
            }],
            shop_name: "Glase Public Test Shop".into(),
            currencies: ["SEK", "EUR", "NOK", "DKK", "USD", "GBP"]
                .map(String::from)
                .to_vec(),
            notification_body: NotificationBody::Form,
            ack_window_secs: 20,
            report_delay_ms: 3000,
            unpaid_invoice_expiry_secs: None,
            default_reservation_timeout_secs: 3600,
            notification_timeout_ms: 10_000,
            seed: None,
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON text is not a valid configuration.
    #[error("invalid JSON configuration: {0}")]
    Json(#[from] serde_json::Error),
    /// The TOML text is not a valid configuration.
    #[error("invalid TOML configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// The configuration parsed but breaks a rule.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl SandboxConfig {
    /// The acknowledgement window as a duration.
    pub fn ack_window(&self) -> Duration {
        Duration::from_secs(self.ack_window_secs)
    }

    /// The report readiness delay as a duration.
    pub fn report_delay(&self) -> Duration {
        Duration::from_millis(self.report_delay_ms)
    }

    /// Parses a JSON configuration and checks it.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML configuration and checks it.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a configuration file: TOML when the name ends in `.toml`, JSON otherwise.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            Self::from_toml(&text)
        } else {
            Self::from_json(&text)
        }
    }

    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.reseller.id.is_empty() || self.reseller.user_id.is_empty() {
            return invalid("reseller.id and reseller.user_id must not be empty");
        }
        if self.reseller.password.len() < 4 {
            return invalid("reseller.password must have at least 4 characters");
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.webshop_terminals {
            if t.terminal_id.is_empty() || t.password.len() < 4 {
                return invalid("every webshop terminal needs a terminal_id and a password of 4+ characters");
            }
            if !seen.insert(t.terminal_id.as_str()) {
                return invalid("webshop terminal ids must be unique");
            }
        }
        if self.currencies.is_empty()
            || self
                .currencies
                .iter()
                .any(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return invalid("currencies must be a non-empty list of three-letter upper-case ISO 4217 codes");
        }
        if self.ack_window_secs == 0 {
            return invalid("ack_window_secs must be at least 1");
        }
        if self.notification_timeout_ms == 0 {
            return invalid("notification_timeout_ms must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_gives_the_documented_defaults() {
        let c = SandboxConfig::from_json("{}").unwrap();
        assert_eq!(c, SandboxConfig::default());
        assert_eq!(c.reseller.id, "public_test_shop");
        assert_eq!(c.reseller.user_id, "9900");
        assert_eq!(c.reseller.password, "1234");
        assert_eq!(c.webshop_terminals[0].terminal_id, "public_test_shop_terminal");
        assert_eq!(c.webshop_terminals[0].password, "12345678");
        assert_eq!(c.ack_window(), Duration::from_secs(20));
        assert_eq!(c.report_delay(), Duration::from_millis(3000));
    }

    #[test]
    fn toml_overrides_fields_and_keeps_other_defaults() {
        let c = SandboxConfig::from_toml(
            "ack_window_secs = 5\nnotification_body = \"empty\"\n[reseller]\nid = \"shop\"\npassword = \"secret\"\n",
        )
        .unwrap();
        assert_eq!(c.ack_window_secs, 5);
        assert_eq!(c.notification_body, NotificationBody::Empty);
        assert_eq!(c.reseller.id, "shop");
        assert_eq!(c.reseller.user_id, "9900");
        assert_eq!(c.report_delay_ms, 3000);
    }

    #[test]
    fn unknown_fields_and_broken_rules_are_rejected() {
        assert!(matches!(
            SandboxConfig::from_json(r#"{"ack_window":3}"#),
            Err(ConfigError::Json(_))
        ));
        assert!(matches!(
            SandboxConfig::from_json(r#"{"ack_window_secs":0}"#),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            SandboxConfig::from_json(r#"{"currencies":["sek"]}"#),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            SandboxConfig::from_toml("[reseller]\npassword = \"12\"\n"),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn the_example_file_parses_and_differs_from_the_defaults_only_where_it_says() {
        let c = SandboxConfig::from_toml(include_str!("../sandbox.example.toml")).unwrap();
        assert_eq!(c.unpaid_invoice_expiry_secs, Some(900));
        assert_eq!(c.seed, Some(42));
        assert_eq!(
            SandboxConfig {
                unpaid_invoice_expiry_secs: None,
                seed: None,
                ..c
            },
            SandboxConfig::default()
        );
    }

    #[test]
    fn debug_output_hides_passwords() {
        let text = format!("{:?}", SandboxConfig::default());
        assert!(!text.contains("12345678"));
        assert!(!text.contains("\"1234\""));
        assert!(text.contains("<redacted>"));
    }
}
