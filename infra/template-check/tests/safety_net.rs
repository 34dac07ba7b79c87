//! The safety-net function keeps running when the account is short of concurrency, and a failed
//! scheduled start is retried within its minute.

use serde_json::Value;
use template_check::template;

/// The schedule's period, in seconds (`rate(1 minute)`).
const SCHEDULE_PERIOD_S: u64 = 60;

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    let r = &template["Resources"][id];
    assert!(r.is_object(), "no resource {id}");
    r
}

#[test]
fn the_safety_net_has_concurrency_reserved_for_its_overlapping_runs() {
    let template = template();
    let function = &resource(&template, "SafetyNetFunction")["Properties"];
    let timeout = function["Timeout"].as_u64().expect("Timeout");
    let reserved = function["ReservedConcurrentExecutions"]
        .as_u64()
        .expect("the safety net reserves its concurrency");
    // Runs started a minute apart that may last up to the timeout overlap this many at once.
    let overlapping = timeout.div_ceil(SCHEDULE_PERIOD_S);
    assert!(
        reserved >= overlapping,
        "{reserved} reserved for {overlapping} runs at once (timeout {timeout} s)"
    );
    assert!(
        reserved <= overlapping + 1,
        "{reserved} reserved: more than the runs need"
    );
}

#[test]
fn a_failed_scheduled_start_is_retried_within_its_minute_and_then_dead_lettered() {
    let template = template();
    let schedule = &resource(&template, "SafetyNetSchedule")["Properties"];
    assert_eq!(schedule["ScheduleExpression"], "rate(1 minute)");
    let target = &schedule["Target"];
    let retry = &target["RetryPolicy"];
    let attempts = retry["MaximumRetryAttempts"]
        .as_u64()
        .expect("MaximumRetryAttempts");
    assert!(attempts >= 1, "a failed start is retried");
    assert_eq!(
        retry["MaximumEventAgeInSeconds"].as_u64(),
        Some(SCHEDULE_PERIOD_S),
        "retried until the next start is due, no longer"
    );
    assert!(
        target["DeadLetterConfig"]["Arn"].is_object(),
        "a start that never succeeds reaches the dead-letter queue"
    );
}

#[test]
fn lambda_does_not_run_a_failed_safety_net_again_beside_the_next_start() {
    let template = template();
    let config = template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .find(|r| {
            r["Type"] == "AWS::Lambda::EventInvokeConfig"
                && r["Properties"]["FunctionName"]["Ref"] == "SafetyNetFunction"
        })
        .expect("the safety net has an event invoke configuration");
    assert_eq!(config["Properties"]["MaximumRetryAttempts"], 0);
    assert_eq!(
        config["Properties"]["MaximumEventAgeInSeconds"].as_u64(),
        Some(SCHEDULE_PERIOD_S)
    );
}
