//! The daily period close: a run whose reports are still pending fails, and Lambda runs the same event
//! again so that it resumes the same period; an event that still fails is dead-lettered, with an alarm.

use serde_json::json;
use template_check::{event_invoke_config, template};

#[test]
fn a_failed_daily_close_is_run_again_and_then_dead_lettered() {
    let template = template();
    let config = event_invoke_config(&template, "ReportingFunction")
        .expect("the reporting function has an event invoke configuration");
    assert!(
        config["MaximumRetryAttempts"].as_u64() >= Some(1),
        "a close whose reports are pending is resumed by a retry: {config}"
    );
    assert_eq!(
        config["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}),
        "a close that still fails reaches the queue ScheduleDeadLetterAlarm watches"
    );
    assert_eq!(
        template["Resources"]["ScheduleDeadLetterAlarm"]["Properties"]["Dimensions"][0]["Value"],
        json!({"Fn::GetAtt": ["ScheduleDeadLetterQueue", "QueueName"]})
    );
}
