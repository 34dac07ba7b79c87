//! Each function's role grants only what that function uses.
//!
//! - DynamoDB: only the operations the store's code calls (found in `shared/payments-dynamodb/src`), on
//!   the payments table and its indexes only.
//! - SQS: `SendMessage` on the refund queue exactly for the functions whose settings need the queue, and
//!   on the schedules' dead-letter queue exactly for the functions whose failed asynchronous events go
//!   there (an `OnFailure` destination); the receive/delete/visibility actions only for a function the
//!   queue triggers.
//! - Secrets Manager: `GetSecretValue` on exactly the secrets of the variables the function's settings
//!   need (one secret per variable), and none for a function that needs none.
//! - `execute-api:ManageConnections` exactly for the functions that push to the WebSocket API.
//! - Managed policies: the basic execution role (logs) for all; the SQS execution role only where an SQS
//!   event source mapping needs it (SAM attaches it for the mapping; it names no resource of ours).
//!
//! Any other action fails the test, so a new permission has to be explained here first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use payments_api::settings::{Function, Need, env};
use serde_json::{Value, json};
use template_check::{root, template};

/// The SDK builder methods of DynamoDB operations and the IAM action each needs.
const OPERATIONS: &[(&str, &str)] = &[
    ("get_item", "dynamodb:GetItem"),
    ("put_item", "dynamodb:PutItem"),
    ("update_item", "dynamodb:UpdateItem"),
    ("delete_item", "dynamodb:DeleteItem"),
    ("query", "dynamodb:Query"),
    ("scan", "dynamodb:Scan"),
    ("batch_get_item", "dynamodb:BatchGetItem"),
    ("batch_write_item", "dynamodb:BatchWriteItem"),
    // A transaction has no IAM action of its own: each of its items is governed by the action of the
    // same operation alone (see `TRANSACTION_ITEMS`), TransactGetItems by GetItem.
    ("transact_get_items", "dynamodb:GetItem"),
];

/// The items of a TransactWriteItems request (`TransactWriteItem::builder().put(…)` and so on) and the
/// IAM action each needs: the one of the same operation outside a transaction, and ConditionCheckItem
/// for a condition check.
const TRANSACTION_ITEMS: &[(&str, &str)] = &[
    ("put", "dynamodb:PutItem"),
    ("update", "dynamodb:UpdateItem"),
    ("delete", "dynamodb:DeleteItem"),
    ("condition_check", "dynamodb:ConditionCheckItem"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The DynamoDB actions the store's code calls (`.put_item()` and so on on the SDK client).
fn store_actions() -> BTreeSet<&'static str> {
    let mut files = Vec::new();
    rust_files(&root().join("shared/payments-dynamodb/src"), &mut files);
    let mut used = BTreeSet::new();
    for file in files {
        // The test-support module creates and deletes tables; the deployed functions never do.
        if file.file_name().is_some_and(|n| n == "testing.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable source");
        for (method, action) in OPERATIONS {
            if text.contains(&format!(".{method}()")) {
                used.insert(*action);
            }
        }
        for (item, action) in TRANSACTION_ITEMS {
            if text.contains(&format!("TransactWriteItem::builder().{item}(")) {
                used.insert(*action);
            }
        }
    }
    used
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// Every (action, resource) pair granted to the function's role, and its managed policies.
struct Grants {
    actions: BTreeMap<String, Vec<Value>>,
    managed: Vec<String>,
}

fn grants_of(template: &Value, function_id: &str) -> Grants {
    let resources = &template["Resources"];
    let role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{function_id} has a role of this stack"));
    let role = &resources[role_id]["Properties"];
    let mut actions: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for policy in list(&role["Policies"]) {
        for statement in list(&policy["PolicyDocument"]["Statement"]) {
            assert_eq!(statement["Effect"], "Allow", "{role_id}: only Allow statements");
            for action in list(&statement["Action"]) {
                let action = action.as_str().expect("action is a string").to_owned();
                actions
                    .entry(action)
                    .or_default()
                    .extend(list(&statement["Resource"]));
            }
        }
    }
    let managed = list(&role["ManagedPolicyArns"])
        .iter()
        .map(|a| a.to_string())
        .collect();
    Grants { actions, managed }
}

/// The destination of the function's failed asynchronous events, if it has one.
fn on_failure_destination(template: &Value, function_id: &str) -> Option<Value> {
    template_check::event_invoke_config(template, function_id)
        .map(|c| c["DestinationConfig"]["OnFailure"]["Destination"].clone())
        .filter(|d| !d.is_null())
}

fn function_ids(template: &Value) -> BTreeMap<String, String> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .map(|(id, r)| {
            let key = r["Properties"]["Code"]["S3Key"].as_str().expect("S3Key");
            (key.trim_end_matches(".zip").to_owned(), id.clone())
        })
        .collect()
}

fn triggered_by_sqs(template: &Value, function_id: &str) -> bool {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .any(|r| {
            r["Type"] == "AWS::Lambda::EventSourceMapping"
                && r["Properties"]["FunctionName"] == json!({"Ref": function_id})
                && r["Properties"]["EventSourceArn"]["Fn::GetAtt"][0] == "RefundQueue"
        })
}

#[test]
fn the_store_calls_the_operations_this_test_knows() {
    let used = store_actions();
    // A store that called nothing would make every DynamoDB grant look unused: the scan must see the
    // operations the store is built on.
    for action in ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"] {
        assert!(used.contains(action), "the scan found no {action}: {used:?}");
    }
}

#[test]
fn every_role_grants_only_what_its_function_uses() {
    let template = template();
    let ids = function_ids(&template);
    let store = store_actions();
    let table = [
        json!({"Fn::GetAtt": ["PaymentsTable", "Arn"]}),
        json!({"Fn::Sub": "${PaymentsTable.Arn}/index/*"}),
    ];
    let queue = json!({"Fn::GetAtt": ["RefundQueue", "Arn"]});
    let schedule_dlq = json!({"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]});
    let secret_of = template_check::secret_of_variable(&template);
    let basic = "\"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole\"";
    let sqs_execution = "\"arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole\"";
    for function in Function::ALL {
        let id = &ids[function.crate_name()];
        let required = function.required_env();
        let Grants { actions, managed } = grants_of(&template, id);
        let sqs_triggered = triggered_by_sqs(&template, id);

        let mut expected_managed = vec![basic.to_owned()];
        if sqs_triggered {
            expected_managed.push(sqs_execution.to_owned());
        }
        assert_eq!(managed, expected_managed, "{id}: managed policies");

        let secrets: Vec<Value> = function
            .required_secrets()
            .iter()
            .map(|n| {
                let secret = secret_of
                    .get(*n)
                    .unwrap_or_else(|| panic!("{id}: no secret of the stack holds {n}"));
                json!({"Ref": secret})
            })
            .collect();
        let reads_secret = !secrets.is_empty();
        let sends_refunds = required.contains(&env::REFUND_QUEUE_URL);
        let on_failure = on_failure_destination(&template, id);
        if let Some(destination) = &on_failure {
            assert_eq!(
                destination, &schedule_dlq,
                "{id}: failed events go to the schedules' DLQ"
            );
        }
        let mut send_targets = Vec::new();
        if sends_refunds {
            send_targets.push(queue.clone());
        }
        send_targets.extend(on_failure);
        let pushes = function.needs().contains(&Need::Push);
        assert_eq!(
            actions.contains_key("secretsmanager:GetSecretValue"),
            reads_secret,
            "{id}: secret"
        );
        assert_eq!(
            actions.contains_key("sqs:SendMessage"),
            !send_targets.is_empty(),
            "{id}: SendMessage"
        );
        assert_eq!(
            actions.contains_key("execute-api:ManageConnections"),
            pushes,
            "{id}: ManageConnections"
        );
        assert!(
            actions.keys().any(|a| a.starts_with("dynamodb:")) == required.contains(&env::TABLE_NAME),
            "{id}: DynamoDB access without the table (or the reverse)"
        );

        for (action, resources) in &actions {
            match action.as_str() {
                a if a.starts_with("dynamodb:") => {
                    assert!(
                        store.contains(a),
                        "{id}: {a} is granted but the store never calls it"
                    );
                    assert!(
                        resources.iter().all(|r| table.contains(r)),
                        "{id}: {a} reaches beyond the payments table: {resources:?}"
                    );
                }
                "sqs:SendMessage" => assert_eq!(resources, &send_targets, "{id}: {action}"),
                "sqs:ReceiveMessage"
                | "sqs:DeleteMessage"
                | "sqs:ChangeMessageVisibility"
                | "sqs:GetQueueAttributes" => {
                    assert!(
                        sqs_triggered,
                        "{id}: {action} without being triggered by the queue"
                    );
                    assert_eq!(resources, &vec![queue.clone()], "{id}: {action}");
                }
                "secretsmanager:GetSecretValue" => {
                    let granted: BTreeSet<String> = resources.iter().map(Value::to_string).collect();
                    let needed: BTreeSet<String> = secrets.iter().map(Value::to_string).collect();
                    assert_eq!(granted, needed, "{id}: {action}");
                    assert_eq!(resources.len(), secrets.len(), "{id}: {action} repeats a secret");
                }
                "execute-api:ManageConnections" => assert!(
                    resources.iter().all(|r| r.to_string().contains("WebSocketApi")),
                    "{id}: {action} beyond the WebSocket API: {resources:?}"
                ),
                other => panic!("{id}: {other} is granted and no rule of this test explains it"),
            }
        }
    }
}

/// The text of the store's method `name`, from its `async fn` to the next one, in whichever file of
/// `payments-dynamodb/src/store/` holds it.
fn store_method_body(name: &str) -> String {
    let signature = format!("async fn {name}(");
    let text = std::fs::read_dir(root().join("shared/payments-dynamodb/src/store"))
        .expect("readable store")
        .map(|entry| {
            std::fs::read_to_string(entry.expect("a store file").path()).expect("readable store file")
        })
        .find(|text| text.contains(&signature))
        .unwrap_or_else(|| panic!("the store has no method {name}"));
    let start = text.find(&signature).expect("the file holds the method");
    let rest = &text[start + 1..];
    let end = rest.find("async fn ").map_or(rest.len(), |i| i + 1);
    text[start..start + end].to_owned()
}

#[test]
fn every_function_behind_an_idempotency_key_may_delete_the_keys_record() {
    // A request that fails before any side effect deletes its idempotency record so that the client
    // may retry with the same key; without the right to, the key stays taken and its retry is answered
    // "outcome unknown" for ever.
    assert!(
        store_method_body("delete_idempotency_record").contains(".delete_item()"),
        "the store deletes idempotency records with DeleteItem"
    );
    let template = template();
    let ids = function_ids(&template);
    let openapi: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("shared/payments-api/openapi.json")).expect("openapi.json"),
    )
    .expect("openapi.json is JSON");
    let mut keyed = BTreeSet::new();
    for (path, item) in openapi["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let takes_key = list(&operation["parameters"])
                .iter()
                .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey");
            if !takes_key {
                continue;
            }
            let concrete = path
                .replace("{payment_id}", "p")
                .replace("{refund_id}", "r")
                .replace("{terminal_id}", "t")
                .replace("{report_id}", "x");
            let route = payments_api::routes::Route::parse(
                &method.to_uppercase().parse().expect("a method"),
                &concrete,
            )
            .expect("the route parses");
            keyed.insert(route.function().crate_name());
        }
    }
    assert!(keyed.len() >= 2, "only {keyed:?} take an Idempotency-Key");
    for krate in keyed {
        let id = &ids[krate];
        assert!(
            grants_of(&template, id)
                .actions
                .contains_key("dynamodb:DeleteItem"),
            "{id} takes an Idempotency-Key but may not delete the key's record"
        );
    }
}
