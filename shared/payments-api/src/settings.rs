//! Which function needs which settings, and the settings themselves.
//!
//! This module is the one list of functions and of the environment variables each one requires. The
//! function crates load their [`Settings`] through it, and the infrastructure drift test reads the same
//! list to check that the SAM template sets every required variable for every function. Secret values
//! (passwords, API key hashes, the terminal-password master secret) come from the same [`EnvSource`]:
//! the process environment on a laptop, the secret store in AWS (layered over the environment by the
//! function's start-up code), and never appear in `Debug` output.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::config::{ConfigError, EnvReader, EnvSource};

/// Every Lambda function of the system, named like its crate under `functions/`.
///
/// `Function::X as u8` is the function's number, which code compiled for one function takes as a const
/// generic (see `App::handle_as`); [`Function::from_number`] turns it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Function {
    /// `POST /v1/payments`.
    CreatePayment,
    /// `POST /v1/notifications/{id}`.
    Notification,
    /// `GET /v1/payments/{id}` and `GET /v1/openapi.json`.
    PaymentStatus,
    /// `POST /v1/payments/{id}/cancel` and `PATCH /v1/payments/{id}`.
    PaymentControl,
    /// `POST /v1/payments/{id}/refunds` and `GET /v1/payments/{id}/refunds/{refund_id}`.
    RefundRequest,
    /// The SQS-triggered refund worker (and the outbox sweep).
    RefundWorker,
    /// `POST /v1/reports`, `GET /v1/reports/{id}` and the period schedule.
    Reporting,
    /// The safety net that confirms pending payments without a notification, and expires old ones.
    SafetyNet,
    /// `/v1/terminals…`.
    Terminals,
    /// The WebSocket API's `$connect`, `$disconnect` and `sync` routes.
    WebSocket,
}

impl Function {
    /// Every function.
    pub const ALL: &'static [Function] = &[
        Function::CreatePayment,
        Function::Notification,
        Function::PaymentStatus,
        Function::PaymentControl,
        Function::RefundRequest,
        Function::RefundWorker,
        Function::Reporting,
        Function::SafetyNet,
        Function::Terminals,
        Function::WebSocket,
    ];

    /// The function whose number (`Function::X as u8`) is `number`, if any.
    pub const fn from_number(number: u8) -> Option<Function> {
        let mut i = 0;
        while i < Function::ALL.len() {
            if Function::ALL[i] as u8 == number {
                return Some(Function::ALL[i]);
            }
            i += 1;
        }
        None
    }

    /// The crate (and folder under `functions/`) of this function.
    pub fn crate_name(&self) -> &'static str {
        match self {
            Function::CreatePayment => "create-payment",
            Function::Notification => "notification",
            Function::PaymentStatus => "payment-status",
            Function::PaymentControl => "payment-control",
            Function::RefundRequest => "refund-request",
            Function::RefundWorker => "refund-worker",
            Function::Reporting => "reporting",
            Function::SafetyNet => "safety-net",
            Function::Terminals => "terminals",
            Function::WebSocket => "websocket",
        }
    }

    /// How long one invocation of this function may run: its `Timeout` in `infra/template.yaml`. The
    /// local stack gives each request this deadline, as Lambda does.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(match self {
            Function::CreatePayment
            | Function::Notification
            | Function::PaymentStatus
            | Function::PaymentControl => 15,
            Function::RefundRequest | Function::WebSocket => 10,
            Function::RefundWorker | Function::Terminals => 30,
            Function::Reporting => 60,
            Function::SafetyNet => 70,
        })
    }

    /// What this function needs configured.
    pub fn needs(&self) -> &'static [Need] {
        use Need::*;
        match self {
            Function::CreatePayment => &[
                Store,
                Glase,
                WebshopTerminal,
                TerminalSecret,
                PublicBaseUrl,
                ApiKeys,
                ClientSecretKey,
            ],
            Function::Notification => &[Store, Glase, WebshopTerminal, TerminalSecret, Push],
            Function::PaymentStatus => &[Store, Glase, WebshopTerminal, TerminalSecret, ApiKeys, Push],
            Function::PaymentControl => &[
                Store,
                Glase,
                WebshopTerminal,
                TerminalSecret,
                PublicBaseUrl,
                ApiKeys,
                Push,
            ],
            Function::RefundRequest => &[Store, ApiKeys, RefundQueue],
            Function::RefundWorker => &[Store, Glase, WebshopTerminal, TerminalSecret, RefundQueue],
            Function::Reporting => &[Store, Glase, WebshopTerminal, Reseller, TerminalSecret, ApiKeys],
            Function::SafetyNet => &[Store, Glase, WebshopTerminal, TerminalSecret, Push],
            Function::Terminals => &[Store, Glase, WebshopTerminal, Reseller, TerminalSecret, ApiKeys],
            Function::WebSocket => &[Store],
        }
    }

    /// Every environment variable this function requires (secrets included), sorted.
    pub fn required_env(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self
            .needs()
            .iter()
            .flat_map(|n| n.required_env())
            .copied()
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The secret variables this function reads ([`env::SECRETS`] it requires), sorted: in AWS each comes
    /// from its own secret, named by [`env::secret_arn_variable`], and the function may read no other.
    pub fn required_secrets(&self) -> Vec<&'static str> {
        self.required_env()
            .into_iter()
            .filter(|n| env::SECRETS.contains(n))
            .collect()
    }
}

/// The longest one Glase attempt may take when `GLASE_TIMEOUT_MS` is not set.
pub const DEFAULT_GLASE_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest one AWS SDK operation (DynamoDB, SQS, the WebSocket management API, Secrets Manager)
/// may take, retries included, when `SDK_OPERATION_TIMEOUT_MS` is not set. The use cases keep this
/// much back for each store write that must follow a Glase call.
pub const DEFAULT_SDK_OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest one attempt of an AWS SDK operation may take when `SDK_ATTEMPT_TIMEOUT_MS` is not set.
pub const DEFAULT_SDK_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

/// The timeouts every AWS SDK client of a function gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkTimeouts {
    /// One operation, every attempt and the waits between them included.
    pub operation: Duration,
    /// One attempt.
    pub attempt: Duration,
}

impl Default for SdkTimeouts {
    fn default() -> Self {
        Self {
            operation: DEFAULT_SDK_OPERATION_TIMEOUT,
            attempt: DEFAULT_SDK_ATTEMPT_TIMEOUT,
        }
    }
}

impl SdkTimeouts {
    /// Reads `SDK_OPERATION_TIMEOUT_MS` and `SDK_ATTEMPT_TIMEOUT_MS` (both optional) from `source`.
    /// An attempt longer than the operation is refused: it could never end on its own timeout.
    pub fn load(source: &dyn EnvSource) -> Result<Self, ConfigError> {
        let mut r = EnvReader::new(source);
        let timeouts = Self::read(&mut r);
        r.finish()?;
        Ok(timeouts)
    }

    fn read(r: &mut EnvReader<'_>) -> Self {
        let operation = r.millis_or(env::SDK_OPERATION_TIMEOUT_MS, DEFAULT_SDK_OPERATION_TIMEOUT);
        let attempt = r.millis_or(env::SDK_ATTEMPT_TIMEOUT_MS, DEFAULT_SDK_ATTEMPT_TIMEOUT);
        if operation.is_zero() || attempt.is_zero() || attempt > operation {
            r.invalid(
                env::SDK_ATTEMPT_TIMEOUT_MS,
                "must be above zero and at most SDK_OPERATION_TIMEOUT_MS",
            );
        }
        Self { operation, attempt }
    }

    /// The SDK's timeout configuration of these timeouts.
    pub fn config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .operation_timeout(self.operation)
            .operation_attempt_timeout(self.attempt)
            .build()
    }
}

/// What one refund message may take besides its Glase call: the claim, the reads and the settlement in
/// the store.
pub const REFUND_STORE_ALLOWANCE: Duration = Duration::from_secs(3);

/// A group of settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// The DynamoDB table.
    Store,
    /// The Glase endpoint.
    Glase,
    /// The webshop terminal's credentials.
    WebshopTerminal,
    /// The reseller's credentials (terminal registration, periods and reports).
    Reseller,
    /// The master secret of point-of-sale terminal passwords.
    TerminalSecret,
    /// The refund queue.
    RefundQueue,
    /// The public base URL that notification URLs are built from.
    PublicBaseUrl,
    /// The merchant API key hashes.
    ApiKeys,
    /// The WebSocket management endpoint (optional: without it nothing is pushed and browsers poll).
    Push,
    /// The key that payments' client secrets derive from (only the function that creates payments).
    ClientSecretKey,
}

impl Need {
    /// The variables this group requires.
    pub fn required_env(&self) -> &'static [&'static str] {
        match self {
            Need::Store => &[env::TABLE_NAME],
            Need::Glase => &[env::GLASE_ENDPOINT],
            Need::WebshopTerminal => &[env::GLASE_TERMINAL_ID, env::GLASE_TERMINAL_PASSWORD],
            Need::Reseller => &[env::GLASE_RESELLER_ID, env::GLASE_RESELLER_PASSWORD],
            Need::TerminalSecret => &[env::TERMINAL_PASSWORD_SECRET],
            Need::RefundQueue => &[env::REFUND_QUEUE_URL],
            Need::PublicBaseUrl => &[env::PUBLIC_BASE_URL],
            Need::ApiKeys => &[env::API_KEY_HASHES],
            Need::Push => &[],
            Need::ClientSecretKey => &[env::CLIENT_SECRET_KEY],
        }
    }
}

/// The variable names, in one place.
pub mod env {
    /// The DynamoDB table name.
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// The Glase SOAP endpoint, e.g. `https://…/extclientproxy/service/v2`.
    pub const GLASE_ENDPOINT: &str = "GLASE_ENDPOINT";
    /// Per-attempt timeout of a Glase call in milliseconds (optional, default 10000).
    pub const GLASE_TIMEOUT_MS: &str = "GLASE_TIMEOUT_MS";
    /// The webshop terminal id issued by Glase.
    pub const GLASE_TERMINAL_ID: &str = "GLASE_TERMINAL_ID";
    /// The webshop terminal password (secret).
    pub const GLASE_TERMINAL_PASSWORD: &str = "GLASE_TERMINAL_PASSWORD";
    /// The reseller id.
    pub const GLASE_RESELLER_ID: &str = "GLASE_RESELLER_ID";
    /// The reseller user id (optional, default `9900` as in every Glase example).
    pub const GLASE_RESELLER_USER_ID: &str = "GLASE_RESELLER_USER_ID";
    /// The reseller password (secret).
    pub const GLASE_RESELLER_PASSWORD: &str = "GLASE_RESELLER_PASSWORD";
    /// The master secret of point-of-sale terminal passwords (secret).
    pub const TERMINAL_PASSWORD_SECRET: &str = "TERMINAL_PASSWORD_SECRET";
    /// The refund queue URL.
    pub const REFUND_QUEUE_URL: &str = "REFUND_QUEUE_URL";
    /// The public base URL of this API, e.g. `https://pay.example.com`.
    pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
    /// Merchant API key hashes, `sha256:<hex>` separated by commas (secret).
    pub const API_KEY_HASHES: &str = "API_KEY_HASHES";
    /// The API Gateway management endpoint of the WebSocket API (optional).
    pub const WEBSOCKET_ENDPOINT: &str = "WEBSOCKET_ENDPOINT";
    /// Seconds after which an unpaid payment is cancelled (optional, default 120).
    pub const PAYMENT_EXPIRY_SECONDS: &str = "PAYMENT_EXPIRY_SECONDS";
    /// The longest one AWS SDK operation may take, retries included, in milliseconds (optional,
    /// default 3000).
    pub const SDK_OPERATION_TIMEOUT_MS: &str = "SDK_OPERATION_TIMEOUT_MS";
    /// The longest one attempt of an AWS SDK operation may take, in milliseconds (optional, default
    /// 1000).
    pub const SDK_ATTEMPT_TIMEOUT_MS: &str = "SDK_ATTEMPT_TIMEOUT_MS";
    /// The key payments' client secrets derive from, at least 32 bytes (secret).
    pub const CLIENT_SECRET_KEY: &str = "CLIENT_SECRET_KEY";
    /// The variables that hold secrets: on AWS each comes from its own Secrets Manager secret, named by
    /// the variable [`secret_arn_variable`] gives, never from the function's plain environment.
    pub const SECRETS: &[&str] = &[
        API_KEY_HASHES,
        CLIENT_SECRET_KEY,
        GLASE_RESELLER_PASSWORD,
        GLASE_TERMINAL_PASSWORD,
        TERMINAL_PASSWORD_SECRET,
    ];

    /// The variable holding the ARN of the secret whose value is the secret variable `name`, e.g.
    /// `API_KEY_HASHES_SECRET_ARN` (unset locally, where `name` itself is set).
    pub fn secret_arn_variable(name: &str) -> String {
        format!("{name}_SECRET_ARN")
    }
}

/// Glase endpoint and credentials.
#[derive(Clone)]
pub struct GlaseConfig {
    /// The SOAP endpoint.
    pub endpoint: String,
    /// Per-attempt timeout.
    pub request_timeout: Duration,
    /// The webshop terminal id.
    pub terminal_id: String,
    /// The webshop terminal password.
    pub terminal_password: SecretString,
    /// The reseller id (empty when the function does not need it).
    pub reseller_id: String,
    /// The reseller user id.
    pub reseller_user_id: String,
    /// The reseller password (empty when the function does not need it).
    pub reseller_password: SecretString,
    /// The master secret of terminal passwords (empty when the function does not need it).
    pub terminal_password_secret: SecretString,
}

impl GlaseConfig {
    /// The longest one Glase call that changes something (refundPayment) can take: every attempt the
    /// client's retry policy allows, each at most `request_timeout`, with the longest wait between them,
    /// and never more than the gateway's deadline for such calls.
    pub fn write_call_budget(&self) -> Duration {
        let policy = glase_protocol::retry::RetryPolicy::default();
        let attempts = policy.max_attempts.max(1);
        self.request_timeout
            .saturating_mul(attempts)
            .saturating_add(policy.max_delay.saturating_mul(attempts - 1))
            .min(payments_glase::DEFAULT_WRITE_DEADLINE)
    }
}

impl std::fmt::Debug for GlaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlaseConfig")
            .field("endpoint", &self.endpoint)
            .field("request_timeout", &self.request_timeout)
            .field("terminal_id", &self.terminal_id)
            .field("reseller_id", &self.reseller_id)
            .field("reseller_user_id", &self.reseller_user_id)
            .finish_non_exhaustive()
    }
}

/// The settings of one function. Groups the function does not need are `None` or empty.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The function these settings are for.
    pub function: Function,
    /// The DynamoDB table.
    pub table_name: Option<String>,
    /// Glase.
    pub glase: Option<GlaseConfig>,
    /// The refund queue URL.
    pub refund_queue_url: Option<String>,
    /// The public base URL.
    pub public_base_url: Option<String>,
    /// The merchant API key hashes, unparsed.
    pub api_key_hashes: Option<SecretString>,
    /// The WebSocket management endpoint, when pushes are configured.
    pub websocket_endpoint: Option<String>,
    /// How long an unpaid payment lives.
    pub payment_expiry: Duration,
    /// The timeouts of the AWS SDK clients.
    pub sdk_timeouts: SdkTimeouts,
    /// The key client secrets derive from, in the function that creates payments.
    pub client_secret_key: Option<payments_domain::secret::ClientSecretKey>,
}

impl Settings {
    /// The longest one refund message can take in the worker: its refundPayment call at the worst the
    /// Glase client allows ([`GlaseConfig::write_call_budget`]) and [`REFUND_STORE_ALLOWANCE`]. The worker
    /// takes no further message from its batch when less time than this is left.
    pub fn refund_message_budget(&self) -> Duration {
        let call = self.glase.as_ref().map_or(
            payments_glase::DEFAULT_WRITE_DEADLINE,
            GlaseConfig::write_call_budget,
        );
        call.saturating_add(REFUND_STORE_ALLOWANCE)
    }

    /// Reads what `function` needs from `source`, reporting every missing or malformed variable at once.
    pub fn load(function: Function, source: &dyn EnvSource) -> Result<Self, ConfigError> {
        Self::load_needs(function, function.needs(), source)
    }

    /// The settings of one process that serves every function's routes and jobs (the local stack): what
    /// any function needs but the groups in `provided`, which the process provides itself (an in-process
    /// queue, say), read as [`Self::load`] reads them. `function` is [`Function::CreatePayment`], the one
    /// that reads the client secret key.
    pub fn load_every_function(source: &dyn EnvSource, provided: &[Need]) -> Result<Self, ConfigError> {
        let mut needs: Vec<Need> = Vec::new();
        for need in Function::ALL.iter().flat_map(|f| f.needs().iter().copied()) {
            if !provided.contains(&need) && !needs.contains(&need) {
                needs.push(need);
            }
        }
        Self::load_needs(Function::CreatePayment, &needs, source)
    }

    fn load_needs(function: Function, needs: &[Need], source: &dyn EnvSource) -> Result<Self, ConfigError> {
        let has = |n: Need| needs.contains(&n);
        let mut r = EnvReader::new(source);

        let table_name = has(Need::Store).then(|| r.required(env::TABLE_NAME));
        let glase = has(Need::Glase).then(|| GlaseConfig {
            endpoint: r.required_url(env::GLASE_ENDPOINT),
            request_timeout: r.millis_or(env::GLASE_TIMEOUT_MS, DEFAULT_GLASE_TIMEOUT),
            terminal_id: r.required_if(has(Need::WebshopTerminal), env::GLASE_TERMINAL_ID),
            terminal_password: r.required_secret_if(has(Need::WebshopTerminal), env::GLASE_TERMINAL_PASSWORD),
            reseller_id: r.required_if(has(Need::Reseller), env::GLASE_RESELLER_ID),
            reseller_user_id: r
                .optional(env::GLASE_RESELLER_USER_ID)
                .unwrap_or_else(|| "9900".to_owned()),
            reseller_password: r.required_secret_if(has(Need::Reseller), env::GLASE_RESELLER_PASSWORD),
            terminal_password_secret: r
                .required_secret_if(has(Need::TerminalSecret), env::TERMINAL_PASSWORD_SECRET),
        });
        let refund_queue_url = has(Need::RefundQueue).then(|| r.required_url(env::REFUND_QUEUE_URL));
        let public_base_url = has(Need::PublicBaseUrl).then(|| r.required_url(env::PUBLIC_BASE_URL));
        let api_key_hashes = has(Need::ApiKeys).then(|| r.required_secret(env::API_KEY_HASHES));
        let websocket_endpoint = if has(Need::Push) {
            r.optional(env::WEBSOCKET_ENDPOINT)
        } else {
            None
        };
        let payment_expiry = r.seconds_or(env::PAYMENT_EXPIRY_SECONDS, Duration::from_secs(120));
        let sdk_timeouts = SdkTimeouts::read(&mut r);
        let client_secret_key = if has(Need::ClientSecretKey) {
            let raw = r.required_secret(env::CLIENT_SECRET_KEY);
            match payments_domain::secret::ClientSecretKey::parse(raw.expose_secret()) {
                Ok(key) => Some(key),
                Err(_) if raw.expose_secret().is_empty() => None,
                Err(_) => {
                    r.invalid(env::CLIENT_SECRET_KEY, "shorter than 32 bytes");
                    None
                }
            }
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            function,
            table_name,
            glase,
            refund_queue_url,
            public_base_url,
            api_key_hashes,
            websocket_endpoint,
            payment_expiry,
            sdk_timeouts,
            client_secret_key,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::ConfigProblem;
    use crate::testing::complete_env;
    use std::collections::BTreeMap;

    #[test]
    fn every_function_loads_from_a_complete_environment() {
        for f in Function::ALL {
            let s = Settings::load(*f, &complete_env()).unwrap();
            assert_eq!(s.function, *f);
            assert_eq!(s.payment_expiry, Duration::from_secs(120));
        }
    }

    #[test]
    fn a_missing_variable_is_named_for_exactly_the_functions_that_need_it() {
        for f in Function::ALL {
            for name in f.required_env() {
                let mut e = complete_env();
                e.remove(name);
                let err = Settings::load(*f, &e).unwrap_err();
                assert_eq!(
                    err.problems,
                    vec![ConfigProblem::Missing(name)],
                    "{f:?} without {name}"
                );
            }
        }
        // The WebSocket function needs no Glase credentials at all.
        let only_table: BTreeMap<String, String> = [(env::TABLE_NAME.to_owned(), "t".to_owned())]
            .into_iter()
            .collect();
        Settings::load(Function::WebSocket, &only_table).unwrap();
    }

    #[test]
    fn a_process_of_every_function_reads_what_any_function_needs_but_what_it_provides() {
        let everything = Settings::load_every_function(&complete_env(), &[Need::RefundQueue]).unwrap();
        assert!(
            everything
                .glase
                .as_ref()
                .is_some_and(|g| !g.reseller_id.is_empty())
        );
        assert!(everything.client_secret_key.is_some());
        assert!(everything.api_key_hashes.is_some() && everything.public_base_url.is_some());
        assert_eq!(everything.refund_queue_url, None, "provided in-process");
        let mut without_reseller = complete_env();
        without_reseller.remove(env::GLASE_RESELLER_ID);
        let e = Settings::load_every_function(&without_reseller, &[Need::RefundQueue]).unwrap_err();
        assert_eq!(e.problems, vec![ConfigProblem::Missing(env::GLASE_RESELLER_ID)]);
    }

    #[test]
    fn crate_names_are_unique() {
        let mut names: Vec<_> = Function::ALL.iter().map(Function::crate_name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Function::ALL.len());
    }

    #[test]
    fn settings_debug_shows_no_secret() {
        for f in [Function::Terminals, Function::CreatePayment] {
            let s = Settings::load(f, &complete_env()).unwrap();
            let text = format!("{s:?}");
            for secret in [
                "terminal-password-secret-value",
                "reseller-password-secret-value",
                "master-secret-value",
                "client-secret-key-value-of-32-bytes",
            ] {
                assert!(!text.contains(secret), "{secret} leaked");
            }
        }
    }

    #[test]
    fn only_the_function_that_creates_payments_reads_the_client_secret_key_and_it_must_be_long() {
        for f in Function::ALL {
            assert_eq!(
                f.required_secrets().contains(&env::CLIENT_SECRET_KEY),
                *f == Function::CreatePayment,
                "{f:?}"
            );
        }
        let mut e = complete_env();
        e.insert(env::CLIENT_SECRET_KEY.to_owned(), "short-key".to_owned());
        let err = Settings::load(Function::CreatePayment, &e).unwrap_err();
        assert!(
            matches!(&err.problems[..], [ConfigProblem::Invalid { name, .. }] if *name == env::CLIENT_SECRET_KEY),
            "{err:?}"
        );
        assert!(!err.to_string().contains("short-key"), "{err}");
        Settings::load(Function::PaymentStatus, &e).unwrap();
    }
}
