//! Every business metric whose count means money lost or owed ([`Metric::costs_money`]) has an alarm: a
//! Metrics Insights query that sums it over the whole namespace (every function and dimension that emits
//! it, so a function added later is covered without touching the alarm), firing on any count above zero
//! and notifying the alarm topic when one is given.

use payments_api::metrics::{Metric, NAMESPACE};
use serde_json::{Value, json};
use template_check::template;

fn alarms(template: &Value) -> Vec<(&String, &Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| (id, &r["Properties"]))
        .collect()
}

/// The alarms whose returned query is exactly `SELECT SUM(<name>) FROM <namespace>`.
fn alarms_on<'a>(template: &'a Value, name: &str) -> Vec<(&'a String, &'a Value)> {
    let query = format!("SELECT SUM({name}) FROM {NAMESPACE}");
    alarms(template)
        .into_iter()
        .filter(|(_, p)| {
            p["Metrics"].as_array().is_some_and(|metrics| {
                metrics
                    .iter()
                    .any(|m| m["ReturnData"] == true && m["Expression"].as_str() == Some(query.as_str()))
            })
        })
        .collect()
}

#[test]
fn every_metric_that_costs_money_has_an_alarm_over_every_function() {
    let template = template();
    let costly: Vec<Metric> = Metric::kinds().into_iter().filter(Metric::costs_money).collect();
    assert!(costly.len() >= 5, "only {} costly metrics", costly.len());
    for metric in costly {
        let name = metric.name();
        let found = alarms_on(&template, name);
        assert_eq!(
            found.len(),
            1,
            "{name}: {} alarms sum it over the namespace",
            found.len()
        );
        let (id, p) = found[0];
        assert_eq!(p["Threshold"], json!(0), "{id}");
        assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold", "{id}");
        assert_eq!(p["TreatMissingData"], "notBreaching", "{id}");
        assert_eq!(
            p["AlarmActions"],
            json!({"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}),
            "{id}"
        );
        assert!(
            p["Metrics"][0]["Period"].as_u64().is_some_and(|s| s <= 300),
            "{id}: period"
        );
    }
}

#[test]
fn no_alarm_watches_a_metric_the_code_does_not_emit() {
    let template = template();
    let names: Vec<&str> = Metric::kinds().iter().map(Metric::name).collect();
    for (id, p) in alarms(&template) {
        let queries = p["Metrics"].as_array().into_iter().flatten();
        for query in queries.filter_map(|m| m["Expression"].as_str()) {
            let watched = query
                .strip_prefix("SELECT SUM(")
                .and_then(|rest| rest.split_once(')'))
                .map(|(name, _)| name)
                .unwrap_or_else(|| panic!("{id}: {query} is not a SUM query"));
            assert!(
                names.contains(&watched),
                "{id} watches {watched}, which nothing emits"
            );
        }
        if p["Namespace"] == NAMESPACE {
            panic!("{id}: an alarm on one dimension of {NAMESPACE} misses other functions: use a query");
        }
    }
}
