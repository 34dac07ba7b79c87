//! Fault injection: rules set with `PUT /sandbox/faults` (or [`crate::Sandbox::set_faults`]).
//!
//! A rule names a target (`notification` or an operation's wire name such as `getPaymentStatus`) and an
//! action. For each call or notification, the rules of its target are tried in order; a rule hits when
//! it still has `count` hits left (unlimited by default) and a draw from the sandbox's seedable random
//! generator falls under `probability` (default 1). The first rule that hits decides; the others are not
//! tried.
//!
//! | target | action | effect |
//! |---|---|---|
//! | `notification` | `drop` | the POST is not sent (a `notification_dropped` event is logged) |
//! | `notification` | `duplicate` | the POST is sent twice, one after the other |
//! | `notification` | `delay` | the POST is sent `delay_ms` later (real time) |
//! | operation | `http_500` | HTTP 500 with a plain-text body, the operation is NOT executed |
//! | operation | `result_code` | the operation's response with `result_code`, NOT executed |
//! | operation | `delay` | wait `delay_ms`, then execute and answer |
//! | operation | `latency` | execute at once, then wait `delay_ms` before answering |
//! | operation | `disconnect` | execute, then close the connection without an answer |
//!
//! Other combinations (for example `http_500` on `notification`) are rejected with a clear error, as
//! are unknown fields, unknown targets and missing `delay_ms` / `result_code`.

use std::time::Duration;

use rand::Rng;
use serde::Deserialize;

/// The wire names of the operations a rule may target.
pub const OPERATION_TARGETS: [&str; 12] = [
    "sendInvoice",
    "updateInvoice",
    "getPaymentStatus",
    "cancelInvoice",
    "commitReservation",
    "submitPaymentReceipt",
    "refundPayment",
    "registerTerminal",
    "unregisterTerminal",
    "assignSeqrId",
    "markTransactionPeriod",
    "executeReport",
];

/// The target name of notification rules.
pub const NOTIFICATION_TARGET: &str = "notification";

/// The body of `PUT /sandbox/faults`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRules {
    /// The rules, tried in order.
    pub rules: Vec<FaultRule>,
}

/// One rule as written in JSON.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `notification` or an operation name.
    pub target: String,
    /// What to do.
    pub action: FaultActionKind,
    /// The chance that a call is hit, from 0 to 1 (default 1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// How many calls are hit at most (default unlimited).
    #[serde(default)]
    pub count: Option<u32>,
    /// The wait of `delay` and `latency`.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// The code answered by `result_code`.
    #[serde(default)]
    pub result_code: Option<i32>,
}

/// The action names of the JSON body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultActionKind {
    /// Do not send the notification.
    Drop,
    /// Send the notification twice.
    Duplicate,
    /// Wait before executing (or before notifying).
    Delay,
    /// Answer HTTP 500 without executing.
    #[serde(rename = "http_500")]
    Http500,
    /// Execute, then close the connection without an answer.
    Disconnect,
    /// Execute, then wait before answering.
    Latency,
    /// Answer a result code without executing.
    ResultCode,
}

impl FaultActionKind {
    fn name(self) -> &'static str {
        match self {
            Self::Drop => "drop",
            Self::Duplicate => "duplicate",
            Self::Delay => "delay",
            Self::Http500 => "http_500",
            Self::Disconnect => "disconnect",
            Self::Latency => "latency",
            Self::ResultCode => "result_code",
        }
    }
}

/// The effect of a rule that hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Do not send the notification.
    Drop,
    /// Send the notification twice.
    Duplicate,
    /// Wait, then go on normally.
    Delay(Duration),
    /// Answer HTTP 500 without executing.
    Http500,
    /// Execute, then close the connection without an answer.
    Disconnect,
    /// Execute, then wait before answering.
    Latency(Duration),
    /// Answer this result code without executing.
    ResultCode(i32),
}

impl FaultAction {
    /// The JSON name of the action.
    pub fn name(self) -> &'static str {
        match self {
            Self::Drop => "drop",
            Self::Duplicate => "duplicate",
            Self::Delay(_) => "delay",
            Self::Http500 => "http_500",
            Self::Disconnect => "disconnect",
            Self::Latency(_) => "latency",
            Self::ResultCode(_) => "result_code",
        }
    }
}

/// Why a rule set was refused. Nothing changes when it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The target is neither `notification` nor an operation name.
    #[error("rule {index}: unknown target {target:?}; use \"notification\" or an operation name")]
    UnknownTarget {
        /// The rule's position.
        index: usize,
        /// The target given.
        target: String,
    },
    /// The action does not apply to the target.
    #[error("rule {index}: action {action} does not apply to target {target:?}")]
    ActionNotForTarget {
        /// The rule's position.
        index: usize,
        /// The action given.
        action: &'static str,
        /// The target given.
        target: String,
    },
    /// A field the action needs is missing or out of range.
    #[error("rule {index}: {message}")]
    Invalid {
        /// The rule's position.
        index: usize,
        /// What is wrong.
        message: &'static str,
    },
}

#[derive(Clone, Debug)]
struct ActiveRule {
    target: String,
    action: FaultAction,
    probability: f64,
    remaining: Option<u32>,
}

/// The active rules with their remaining hit counts.
#[derive(Clone, Debug, Default)]
pub struct FaultSet {
    rules: Vec<ActiveRule>,
}

impl FaultSet {
    /// Checks a rule set and builds the active form.
    pub fn from_rules(rules: &FaultRules) -> Result<Self, FaultError> {
        let mut active = Vec::with_capacity(rules.rules.len());
        for (index, rule) in rules.rules.iter().enumerate() {
            active.push(check_rule(index, rule)?);
        }
        Ok(Self { rules: active })
    }

    /// Whether no rule is active.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Draws whether a call to `target` is hit, consuming one of the rule's hits when it is.
    pub fn draw(&mut self, target: &str, rng: &mut impl Rng) -> Option<FaultAction> {
        for rule in self.rules.iter_mut().filter(|r| r.target == target) {
            if rule.remaining == Some(0) {
                continue;
            }
            // `random_bool(1.0)` is always true and `random_bool(0.0)` always false.
            if !rng.random_bool(rule.probability) {
                continue;
            }
            if let Some(left) = rule.remaining.as_mut() {
                *left -= 1;
            }
            return Some(rule.action);
        }
        None
    }
}

fn check_rule(index: usize, rule: &FaultRule) -> Result<ActiveRule, FaultError> {
    let is_notification = rule.target == NOTIFICATION_TARGET;
    if !is_notification && !OPERATION_TARGETS.contains(&rule.target.as_str()) {
        return Err(FaultError::UnknownTarget {
            index,
            target: rule.target.clone(),
        });
    }
    let probability = rule.probability.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&probability) {
        return Err(FaultError::Invalid {
            index,
            message: "probability must be between 0 and 1",
        });
    }
    if rule.count == Some(0) {
        return Err(FaultError::Invalid {
            index,
            message: "count must be at least 1 (omit it for unlimited)",
        });
    }
    let delay = || {
        rule.delay_ms
            .map(Duration::from_millis)
            .ok_or(FaultError::Invalid {
                index,
                message: "delay_ms is required for delay and latency",
            })
    };
    let not_for_target = || FaultError::ActionNotForTarget {
        index,
        action: rule.action.name(),
        target: rule.target.clone(),
    };
    let action = match (rule.action, is_notification) {
        (FaultActionKind::Drop, true) => FaultAction::Drop,
        (FaultActionKind::Duplicate, true) => FaultAction::Duplicate,
        (FaultActionKind::Delay, _) => FaultAction::Delay(delay()?),
        (FaultActionKind::Http500, false) => FaultAction::Http500,
        (FaultActionKind::Disconnect, false) => FaultAction::Disconnect,
        (FaultActionKind::Latency, false) => FaultAction::Latency(delay()?),
        (FaultActionKind::ResultCode, false) => match rule.result_code {
            Some(code) if code != 0 => FaultAction::ResultCode(code),
            _ => {
                return Err(FaultError::Invalid {
                    index,
                    message: "result_code is required for the result_code action and must not be 0",
                });
            }
        },
        _ => return Err(not_for_target()),
    };
    if rule.result_code.is_some() && !matches!(action, FaultAction::ResultCode(_)) {
        return Err(FaultError::Invalid {
            index,
            message: "result_code only applies to the result_code action",
        });
    }
    Ok(ActiveRule {
        target: rule.target.clone(),
        action,
        probability,
        remaining: rule.count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn parse(json: &str) -> Result<FaultSet, FaultError> {
        FaultSet::from_rules(&serde_json::from_str::<FaultRules>(json).unwrap())
    }

    #[test]
    fn count_limits_the_hits_and_other_targets_are_untouched() {
        let mut set = parse(
            r#"{"rules":[{"target":"getPaymentStatus","action":"result_code","result_code":93,"count":2}]}"#,
        )
        .unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(set.draw("sendInvoice", &mut rng), None);
        assert_eq!(
            set.draw("getPaymentStatus", &mut rng),
            Some(FaultAction::ResultCode(93))
        );
        assert_eq!(
            set.draw("getPaymentStatus", &mut rng),
            Some(FaultAction::ResultCode(93))
        );
        assert_eq!(set.draw("getPaymentStatus", &mut rng), None);
    }

    #[test]
    fn probability_selects_some_calls_reproducibly_with_a_seed() {
        let json = r#"{"rules":[{"target":"notification","action":"drop","probability":0.5}]}"#;
        let run = |seed| {
            let mut set = parse(json).unwrap();
            let mut rng = StdRng::seed_from_u64(seed);
            (0..200)
                .filter(|_| set.draw("notification", &mut rng).is_some())
                .count()
        };
        let hits = run(9);
        assert!((50..150).contains(&hits), "{hits}");
        assert_eq!(hits, run(9));
        let mut never =
            parse(r#"{"rules":[{"target":"notification","action":"drop","probability":0}]}"#).unwrap();
        assert_eq!(never.draw("notification", &mut StdRng::seed_from_u64(3)), None);
    }

    #[test]
    fn invalid_rules_are_refused_with_a_reason() {
        let refused = |json: &str| parse(json).expect_err(json);
        for json in [
            r#"{"rules":[{"target":"notification","action":"http_500"}]}"#,
            r#"{"rules":[{"target":"sendInvoice","action":"drop"}]}"#,
        ] {
            assert!(
                matches!(refused(json), FaultError::ActionNotForTarget { .. }),
                "{json}"
            );
        }
        assert!(matches!(
            refused(r#"{"rules":[{"target":"nope","action":"http_500"}]}"#),
            FaultError::UnknownTarget { .. }
        ));
        for json in [
            r#"{"rules":[{"target":"sendInvoice","action":"latency"}]}"#,
            r#"{"rules":[{"target":"sendInvoice","action":"result_code"}]}"#,
            r#"{"rules":[{"target":"sendInvoice","action":"http_500","probability":1.5}]}"#,
        ] {
            assert!(matches!(refused(json), FaultError::Invalid { .. }), "{json}");
        }
        assert!(serde_json::from_str::<FaultRules>(r#"{"rules":[],"extra":1}"#).is_err());
        assert!(
            serde_json::from_str::<FaultRules>(r#"{"rules":[{"target":"x","action":"drop","delay":1}]}"#)
                .is_err()
        );
    }
}
