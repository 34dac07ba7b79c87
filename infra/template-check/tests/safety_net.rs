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
    let config = template_check::event_invoke_config(&template, "SafetyNetFunction")
        .expect("the safety net has an event invoke configuration");
    assert_eq!(config["MaximumRetryAttempts"], 0);
    assert_eq!(
        config["MaximumEventAgeInSeconds"].as_u64(),
        Some(SCHEDULE_PERIOD_S)
    );
}

#[test]
fn a_safety_net_run_lambda_drops_raises_an_alarm() {
    // A run that fails (at init or in its pass) is not run again, and one that cannot start within its
    // minute is discarded: Lambda counts both in AsyncEventsDropped, and no business metric sees them.
    let template = template();
    let watching: Vec<&String> = template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| {
            let p = &r["Properties"];
            r["Type"] == "AWS::CloudWatch::Alarm"
                && p["Namespace"] == "AWS/Lambda"
                && p["MetricName"] == "AsyncEventsDropped"
                && p["Dimensions"][0]["Value"]["Ref"] == "SafetyNetFunction"
                && p["Statistic"] == "Sum"
                && p["Threshold"] == 0
                && p["ComparisonOperator"] == "GreaterThanThreshold"
                && p["Period"].as_u64().is_some_and(|s| s <= SCHEDULE_PERIOD_S)
                && p["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"
        })
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        watching.len(),
        1,
        "alarms on the safety net's dropped runs: {watching:?}"
    );
}
