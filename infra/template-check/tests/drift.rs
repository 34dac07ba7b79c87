//! The committed translation of the template agrees with the workspace.
//!
//! Every crate under `functions/` has exactly one function resource, and the crates, the template's
//! functions and `Function::ALL` are the same set. Every route goes to the function `Route::function`
//! names; the CORS configuration is `payments_api::cors`; every function logs to a log group of the stack
//! with the stack's retention; the throttles are parameters whose bounds keep notifications above the
//! shop's traffic.

use std::collections::{BTreeMap, BTreeSet};

use payments_api::routes::Route;
use payments_api::settings::{Function, env};
use serde_json::Value;
use template_check::{root, template};

fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

/// Function resources by the crate they are built from (the placeholder code key names the binary).
fn functions_by_crate(template: &Value) -> BTreeMap<String, Vec<(String, Value)>> {
    let mut by_crate: BTreeMap<String, Vec<(String, Value)>> = BTreeMap::new();
    for (id, resource) in resources_of(template, "AWS::Lambda::Function") {
        let key = resource["Properties"]["Code"]["S3Key"].as_str().expect("S3Key");
        let krate = key.strip_suffix(".zip").expect("the key ends in .zip").to_owned();
        by_crate
            .entry(krate)
            .or_default()
            .push((id.clone(), resource.clone()));
    }
    by_crate
}

fn crate_folders() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().into_string().expect("UTF-8 name"))
        .collect()
}

#[test]
fn every_function_has_exactly_one_resource_and_every_crate_is_deployed() {
    let by_crate = functions_by_crate(&template());
    for (krate, resources) in &by_crate {
        assert_eq!(
            resources.len(),
            1,
            "{krate} has {} function resources",
            resources.len()
        );
    }
    let deployed: BTreeSet<String> = by_crate.keys().cloned().collect();
    let known: BTreeSet<String> = Function::ALL.iter().map(|f| f.crate_name().to_owned()).collect();
    assert_eq!(
        deployed, known,
        "the template's functions differ from Function::ALL"
    );
    assert_eq!(
        crate_folders(),
        known,
        "the crates under functions/ differ from Function::ALL"
    );
}

#[test]
fn every_function_gets_its_plain_variables_and_the_arns_of_exactly_the_secrets_it_needs() {
    let template = template();
    let by_crate = functions_by_crate(&template);
    let secret_of = template_check::secret_of_variable(&template);
    for function in Function::ALL {
        let (id, resource) = &by_crate[function.crate_name()][0];
        let vars = &resource["Properties"]["Environment"]["Variables"];
        let required = function.required_env();
        for name in required.iter().filter(|n| !env::SECRETS.contains(n)) {
            assert!(!vars[*name].is_null(), "{id} lacks {name}");
        }
        let secrets = function.required_secrets();
        for name in env::SECRETS {
            assert!(
                vars[*name].is_null(),
                "{id} has the secret {name} in its plain environment"
            );
            let arn = env::secret_arn_variable(name);
            assert_eq!(
                !vars[&arn].is_null(),
                secrets.contains(name),
                "{id}: {arn} (the function needs {secrets:?})"
            );
        }
        // No other secret ARN, and not the single secret of every variable.
        for variable in vars.as_object().into_iter().flatten().map(|(k, _)| k) {
            if variable.ends_with("_SECRET_ARN") {
                assert!(
                    secrets.iter().any(|n| env::secret_arn_variable(n) == *variable),
                    "{id}: {variable} names no secret the function needs"
                );
            }
        }
    }
    // Every secret variable has its own secret.
    let variables: BTreeSet<&str> = secret_of.keys().map(String::as_str).collect();
    let needed: BTreeSet<&str> = Function::ALL.iter().flat_map(|f| f.required_secrets()).collect();
    assert_eq!(
        variables, needed,
        "secret variables without a secret of their own"
    );
}

#[test]
fn every_openapi_route_goes_to_one_function_and_no_other_route_exists() {
    let template = template();
    let openapi: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("shared/payments-api/openapi.json")).expect("openapi.json"),
    )
    .expect("openapi.json is JSON");
    let methods = ["get", "post", "put", "patch", "delete"];
    let routes_of = |paths: &Value| -> BTreeSet<(String, String)> {
        let mut routes = BTreeSet::new();
        for (path, item) in paths.as_object().expect("paths") {
            for method in methods.iter().filter(|m| item.get(**m).is_some()) {
                routes.insert((method.to_string(), path.clone()));
            }
        }
        routes
    };
    let body = &template["Resources"]["HttpApi"]["Properties"]["Body"]["paths"];
    assert_eq!(routes_of(body), routes_of(&openapi["paths"]));
    let functions: BTreeSet<&String> = resources_of(&template, "AWS::Lambda::Function")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for (method, path) in routes_of(body) {
        let uri = body[&path][&method]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            .as_str()
            .expect("an integration URI");
        let target = functions
            .iter()
            .filter(|id| uri.contains(&format!("${{{id}.Arn}}")))
            .count();
        assert_eq!(target, 1, "{method} {path} goes to {target} functions");
    }
}

#[test]
fn the_table_equals_the_table_definition() {
    let template = template();
    let mut properties = template["Resources"]["PaymentsTable"]["Properties"].clone();
    let object = properties.as_object_mut().expect("properties");
    assert_eq!(
        object.remove("DeletionProtectionEnabled"),
        Some(Value::Bool(true))
    );
    assert_eq!(
        properties,
        payments_dynamodb::table::definition().cloudformation_properties()
    );
}

#[test]
fn the_refund_queues_equal_the_queue_definition() {
    let template = template();
    let queue = &template["Resources"]["RefundQueue"]["Properties"];
    let expected = payments_sqs::queue::REFUND_QUEUE
        .cloudformation_properties(serde_json::json!({"Fn::GetAtt": ["RefundDeadLetterQueue", "Arn"]}));
    assert_eq!(queue, &expected);
    let dead = &template["Resources"]["RefundDeadLetterQueue"]["Properties"];
    assert_eq!(
        dead,
        &payments_sqs::queue::REFUND_QUEUE.dead_letter_cloudformation_properties()
    );
    let worker_timeout = template["Resources"]["RefundWorkerFunction"]["Properties"]["Timeout"]
        .as_u64()
        .expect("the worker's timeout");
    let visibility = queue["VisibilityTimeout"].as_u64().expect("VisibilityTimeout");
    assert!(
        visibility >= 6 * worker_timeout,
        "visibility {visibility} < 6 x {worker_timeout}"
    );
    let mapping = &resources_of(&template, "AWS::Lambda::EventSourceMapping")[0].1["Properties"];
    assert_eq!(
        mapping["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
}

/// Statements that may name `*` as a resource. None does today: every statement is scoped.
const STAR_RESOURCE_ALLOWED: &[&str] = &[];

#[test]
fn no_statement_has_a_star_action_and_star_resources_only_where_allowed() {
    let template = template();
    let mut statements = 0;
    for (id, role) in resources_of(&template, "AWS::IAM::Role") {
        for policy in role["Properties"]["Policies"].as_array().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .expect("statements")
            {
                statements += 1;
                let actions: Vec<&Value> = match &statement["Action"] {
                    Value::Array(a) => a.iter().collect(),
                    one => vec![one],
                };
                for action in actions {
                    assert!(
                        !action.as_str().expect("action").contains('*'),
                        "{id}: action {action}"
                    );
                }
                let resources: Vec<&Value> = match &statement["Resource"] {
                    Value::Array(a) => a.iter().collect(),
                    one => vec![one],
                };
                if resources.iter().any(|r| r.as_str() == Some("*")) {
                    assert!(STAR_RESOURCE_ALLOWED.contains(&id.as_str()), "{id}: resource *");
                }
            }
        }
    }
    assert!(statements > 10, "only {statements} statements were checked");
}

#[tokio::test]
async fn the_translated_table_can_be_created_on_dynoxide() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
        ProjectionType, ScalarAttributeType,
    };
    let template = template();
    let p = &template["Resources"]["PaymentsTable"]["Properties"];
    let text = |v: &Value| v.as_str().expect("a string").to_owned();
    let keys = |schema: &Value| -> Vec<KeySchemaElement> {
        schema
            .as_array()
            .expect("KeySchema")
            .iter()
            .map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(text(&k["AttributeName"]))
                    .key_type(KeyType::from(k["KeyType"].as_str().expect("KeyType")))
                    .build()
                    .expect("key element")
            })
            .collect()
    };
    let existing = payments_dynamodb::testing::dynoxide_table().await;
    let mut create = existing
        .client
        .create_table()
        .table_name("translated")
        .billing_mode(BillingMode::from(p["BillingMode"].as_str().expect("BillingMode")))
        .set_key_schema(Some(keys(&p["KeySchema"])));
    for a in p["AttributeDefinitions"]
        .as_array()
        .expect("AttributeDefinitions")
    {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(&a["AttributeName"]))
                .attribute_type(ScalarAttributeType::from(
                    a["AttributeType"].as_str().expect("type"),
                ))
                .build()
                .expect("attribute"),
        );
    }
    for g in p["GlobalSecondaryIndexes"]
        .as_array()
        .expect("GlobalSecondaryIndexes")
    {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(&g["IndexName"]))
                .set_key_schema(Some(keys(&g["KeySchema"])))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("index"),
        );
    }
    create
        .send()
        .await
        .expect("dynoxide creates the translated table");
    let described = existing
        .client
        .describe_table()
        .table_name("translated")
        .send()
        .await
        .expect("describe")
        .table
        .expect("a table");
    let differences = payments_dynamodb::table::definition().differences(&described, None);
    assert!(differences.is_empty(), "{differences:?}");
}

/// A number of the template, or the default of the parameter it refers to.
fn number(template: &Value, value: &Value) -> f64 {
    match value["Ref"].as_str() {
        Some(parameter) => parameter_field(template, parameter, "Default"),
        None => value.as_f64().expect("a number"),
    }
}

fn parameter_field(template: &Value, parameter: &str, field: &str) -> f64 {
    let p = &template["Parameters"][parameter];
    assert_eq!(p["Type"], "Number", "{parameter} is a Number parameter");
    match &p[field] {
        Value::String(s) => s.parse().expect("a number"),
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("{parameter} has a {field}")),
    }
}

#[test]
fn glase_notifications_are_throttled_apart_from_and_above_the_shop_traffic() {
    let template = template();
    let stage = &template["Resources"]["HttpApiApiGatewayDefaultStage"]["Properties"];
    let default_rate = number(&template, &stage["DefaultRouteSettings"]["ThrottlingRateLimit"]);
    let notify = &stage["RouteSettings"]["POST /v1/notifications/{payment_id}"];
    let rate = number(&template, &notify["ThrottlingRateLimit"]);
    assert!(
        rate >= 10.0 * default_rate,
        "notifications {rate}/s against the default {default_rate}/s"
    );
    assert!(number(&template, &notify["ThrottlingBurstLimit"]) >= rate);
}

#[test]
fn the_throttles_are_parameters_whose_bounds_keep_notifications_ten_times_above_the_default() {
    let template = template();
    let stage = &template["Resources"]["HttpApiApiGatewayDefaultStage"]["Properties"];
    let notify = &stage["RouteSettings"]["POST /v1/notifications/{payment_id}"];
    let parameter = |v: &Value| v["Ref"].as_str().expect("a parameter").to_owned();
    let default_rate = parameter(&stage["DefaultRouteSettings"]["ThrottlingRateLimit"]);
    let default_burst = parameter(&stage["DefaultRouteSettings"]["ThrottlingBurstLimit"]);
    let notify_rate = parameter(&notify["ThrottlingRateLimit"]);
    let notify_burst = parameter(&notify["ThrottlingBurstLimit"]);
    for p in [&default_rate, &default_burst, &notify_rate, &notify_burst] {
        assert!(
            parameter_field(&template, p, "MinValue") >= 1.0,
            "{p} has a lower bound"
        );
        assert!(
            template["Parameters"][p]["Description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{p} says how to size it"
        );
    }
    let largest_default = parameter_field(&template, &default_rate, "MaxValue");
    let smallest_notify = parameter_field(&template, &notify_rate, "MinValue");
    assert!(
        smallest_notify >= 10.0 * largest_default,
        "{notify_rate} may be {smallest_notify}/s while {default_rate} may be {largest_default}/s"
    );
    // API Gateway's account quota in a region: 10,000 requests a second, bursts of 5,000.
    assert!(parameter_field(&template, &notify_rate, "MaxValue") <= 10_000.0);
    assert!(parameter_field(&template, &notify_burst, "MaxValue") <= 5_000.0);
}

#[test]
fn every_route_goes_to_the_function_that_serves_it() {
    let template = template();
    let body = &template["Resources"]["HttpApi"]["Properties"]["Body"]["paths"];
    let by_crate = functions_by_crate(&template);
    for (method, path) in Route::TEMPLATES {
        let function = Route::parse(&method.parse().expect("a method"), &Route::sample_path(path))
            .expect("the route parses")
            .function();
        let (id, _) = &by_crate[function.crate_name()][0];
        let uri = body[*path][method.to_lowercase()]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} is not in the template"));
        assert!(
            uri.contains(&format!("${{{id}.Arn}}")),
            "{method} {path} must go to {id}: {uri}"
        );
    }
}

#[test]
fn the_cors_configuration_is_the_one_the_local_stack_answers_with() {
    let template = template();
    let cors = &template["Resources"]["HttpApi"]["Properties"]["Body"]["x-amazon-apigateway-cors"];
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("a string").to_ascii_lowercase())
            .collect()
    };
    let expected =
        |list: &[&str]| -> BTreeSet<String> { list.iter().map(|s| s.to_ascii_lowercase()).collect() };
    assert_eq!(
        strings(&cors["allowHeaders"]),
        expected(payments_api::cors::ALLOW_HEADERS)
    );
    assert_eq!(
        strings(&cors["allowMethods"]),
        expected(payments_api::cors::ALLOW_METHODS)
    );
    assert_eq!(cors["maxAge"].as_u64(), Some(payments_api::cors::MAX_AGE_SECONDS));
    assert_eq!(cors["allowOrigins"], serde_json::json!([{"Ref": "WidgetOrigin"}]));
}

#[test]
fn every_function_logs_to_a_log_group_of_the_stack_with_its_retention() {
    let template = template();
    let resources = &template["Resources"];
    let mut groups = BTreeSet::new();
    let functions = resources_of(&template, "AWS::Lambda::Function");
    assert_eq!(functions.len(), Function::ALL.len());
    for (id, function) in functions {
        let group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names no log group of the stack"));
        let resource = &resources[group];
        assert_eq!(resource["Type"], "AWS::Logs::LogGroup", "{id}: {group}");
        assert_eq!(
            resource["Properties"]["RetentionInDays"],
            serde_json::json!({"Ref": "LogRetentionDays"}),
            "{id}: {group} keeps logs for LogRetentionDays"
        );
        assert!(groups.insert(group.to_owned()), "{group} is shared");
    }
}

#[test]
fn every_function_timeout_is_the_deadline_the_local_stack_gives_its_requests() {
    let by_crate = functions_by_crate(&template());
    for function in Function::ALL {
        let (_, resource) = &by_crate[function.crate_name()][0];
        let timeout = resource["Properties"]["Timeout"]
            .as_u64()
            .unwrap_or_else(|| panic!("{function:?} has no Timeout"));
        assert_eq!(
            timeout,
            function.timeout().as_secs(),
            "{function:?}: the template's Timeout and Function::timeout differ"
        );
    }
}
