//! The optional edge (`EdgeWaf=on`): a CloudFront distribution in front of the HTTP API with an AWS WAF
//! web ACL of per-IP rate rules, parameter-gated and sized against the API's own throttles.

use payments_api::routes::Route;
use serde_json::{Value, json};
use template_check::template;

fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    let r = &template["Resources"][name];
    assert!(r.is_object(), "the template has no {name}");
    r
}

/// The path prefix of the notification route, from the router's own list.
fn notification_prefix() -> String {
    let (_, path) = Route::TEMPLATES
        .iter()
        .find(|(method, path)| *method == "POST" && path.starts_with("/v1/notifications/"))
        .expect("the notification route");
    path.split('{').next().unwrap().to_owned()
}

fn rule<'a>(acl: &'a Value, name: &str) -> &'a Value {
    acl["Properties"]["Rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| match r.get("Fn::If") {
            // The optional exemption: [condition, rule, AWS::NoValue].
            Some(branches) => vec![&branches[1]],
            None => vec![r],
        })
        .find(|r| r["Name"] == name)
        .unwrap_or_else(|| panic!("no rule {name}"))
}

fn number(parameter: &Value, field: &str) -> u64 {
    let v = &parameter[field];
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{field} of {parameter}"))
}

#[test]
fn the_edge_is_off_unless_asked_and_every_part_of_it_hangs_on_that() {
    let t = template();
    assert_eq!(t["Parameters"]["EdgeWaf"]["Default"], "off");
    assert_eq!(
        t["Conditions"]["EdgeOn"],
        json!({"Fn::Equals": [{"Ref": "EdgeWaf"}, "on"]})
    );
    let create = &t["Conditions"]["CreateEdgeWebAcl"]["Fn::And"];
    assert!(
        create
            .as_array()
            .unwrap()
            .contains(&json!({"Condition": "EdgeOn"})),
        "{create}"
    );
    let exempt = &t["Conditions"]["HasWafExemptCidrs"]["Fn::And"];
    assert!(
        exempt
            .as_array()
            .unwrap()
            .contains(&json!({"Condition": "CreateEdgeWebAcl"}))
    );
    for (name, condition) in [
        ("EdgeDistribution", "EdgeOn"),
        ("EdgeWebAcl", "CreateEdgeWebAcl"),
        ("WafExemptAddresses", "HasWafExemptCidrs"),
    ] {
        assert_eq!(resource(&t, name)["Condition"], condition, "{name}");
    }
    assert_eq!(t["Outputs"]["EdgeUrl"]["Condition"], "EdgeOn");
    // Outside us-east-1 (where CloudFront web ACLs live) the deployer must bring one.
    let rule = &t["Rules"]["EdgeWebAclOutsideUsEast1"];
    assert_eq!(
        rule["Assertions"][0]["Assert"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "EdgeWebAclArn"}, ""]}]})
    );
}

#[test]
fn the_web_acl_limits_each_address_with_a_notification_bucket_of_its_own() {
    let t = template();
    let acl = resource(&t, "EdgeWebAcl");
    assert_eq!(acl["Properties"]["Scope"], "CLOUDFRONT");
    assert_eq!(acl["Properties"]["DefaultAction"], json!({"Allow": {}}));
    let prefix = notification_prefix();
    let path_match = json!({"ByteMatchStatement": {
        "FieldToMatch": {"UriPath": {}},
        "PositionalConstraint": "STARTS_WITH",
        "SearchString": prefix,
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
    }});

    let notifications = rule(acl, "NotificationsPerIp");
    let others = rule(acl, "OtherRoutesPerIp");
    for (r, limit) in [
        (notifications, "WafNotificationRequestsPerIp"),
        (others, "WafRequestsPerIp"),
    ] {
        assert_eq!(r["Action"], json!({"Block": {}}));
        let rate = &r["Statement"]["RateBasedStatement"];
        assert_eq!(rate["AggregateKeyType"], "IP");
        assert_eq!(rate["EvaluationWindowSec"], 300);
        assert_eq!(rate["Limit"], json!({"Ref": limit}));
    }
    assert_eq!(
        notifications["Statement"]["RateBasedStatement"]["ScopeDownStatement"],
        path_match
    );
    assert_eq!(
        others["Statement"]["RateBasedStatement"]["ScopeDownStatement"],
        json!({"NotStatement": {"Statement": path_match}})
    );

    // The merchant's own servers are let through before any rate rule counts them.
    let exempt = rule(acl, "ExemptAddresses");
    assert_eq!(exempt["Action"], json!({"Allow": {}}));
    assert!(exempt["Priority"].as_u64() < notifications["Priority"].as_u64());
    assert!(exempt["Priority"].as_u64() < others["Priority"].as_u64());
}

#[test]
fn one_address_may_notify_at_least_what_the_notification_route_takes_in_five_minutes() {
    let t = template();
    let p = &t["Parameters"];
    let per_ip_minimum = number(&p["WafNotificationRequestsPerIp"], "MinValue");
    assert!(per_ip_minimum >= number(&p["NotificationRateLimit"], "Default") * 300);
    // The notification bucket is never smaller than the other routes' one.
    assert!(per_ip_minimum >= number(&p["WafRequestsPerIp"], "MaxValue"));
}

#[test]
fn the_distribution_caches_nothing_passes_every_method_and_fronts_the_http_api() {
    let t = template();
    let config = &resource(&t, "EdgeDistribution")["Properties"]["DistributionConfig"];
    let origin = &config["Origins"][0];
    assert_eq!(
        origin["DomainName"],
        json!({"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"})
    );
    assert_eq!(origin["CustomOriginConfig"]["OriginProtocolPolicy"], "https-only");
    assert_eq!(
        config["WebACLId"],
        json!({"Fn::If": ["HasEdgeWebAclArn", {"Ref": "EdgeWebAclArn"}, {"Fn::GetAtt": ["EdgeWebAcl", "Arn"]}]})
    );
    let behavior = &config["DefaultCacheBehavior"];
    assert_eq!(behavior["TargetOriginId"], origin["Id"]);
    // AWS's managed CachingDisabled and AllViewerExceptHostHeader: with caching off, the viewer's
    // Authorization and X-Client-Secret reach the API, and API Gateway gets its own Host.
    assert_eq!(behavior["CachePolicyId"], "4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
    assert_eq!(
        behavior["OriginRequestPolicyId"],
        "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    );
    let allowed: Vec<&str> = behavior["AllowedMethods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for (method, path) in Route::TEMPLATES {
        assert!(
            allowed.contains(method),
            "{method} {path} would not pass the edge"
        );
    }
    assert!(allowed.contains(&"OPTIONS"), "CORS preflights pass the edge");
}
