//! Drift tests between the committed CloudFormation translation of `infra/template.yaml`
//! (`infra/generated/template.json`) and the workspace: `tests/drift.rs` (functions, variables, routes,
//! table, queues, wildcards), `tests/least_privilege.rs` (each role against what its function's code
//! uses) and `tests/sizing.rs` (memory and timeouts against the benchmark figures).
//!
//! This library holds what the tests share: where the workspace is, how its JSON files are read, and
//! which secret of the stack each secret variable names.

use std::path::{Path, PathBuf};

/// The workspace's root directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The JSON file at `path` (relative to the workspace root), parsed.
///
/// # Panics
/// When the file is missing or not JSON: a test cannot go on without it.
pub fn json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// The committed translation of the template (`infra/check.sh` keeps it current).
pub fn template() -> serde_json::Value {
    json("infra/generated/template.json")
}

/// The `AWS::Lambda::EventInvokeConfig` of the function `function_id` (how Lambda retries its failed
/// asynchronous events and where it sends those that still fail), if it has one.
pub fn event_invoke_config<'a>(
    template: &'a serde_json::Value,
    function_id: &str,
) -> Option<&'a serde_json::Value> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .find(|r| {
            r["Type"] == "AWS::Lambda::EventInvokeConfig"
                && r["Properties"]["FunctionName"]["Ref"] == function_id
        })
        .map(|r| &r["Properties"])
}

/// The secret resource each secret variable names across the template's functions (through the
/// functions' `<NAME>_SECRET_ARN` variables, `{"Ref": <resource>}`).
///
/// # Panics
/// When one variable names two secrets, two variables name one secret, or a reference is not to a
/// Secrets Manager secret of the stack: the tests' expectations would be ambiguous.
pub fn secret_of_variable(template: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    use payments_api::settings::env;
    let resources = template["Resources"].as_object().expect("Resources");
    let mut by_variable = std::collections::BTreeMap::new();
    for (id, resource) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
    {
        let vars = &resource["Properties"]["Environment"]["Variables"];
        for name in env::SECRETS {
            let Some(arn) = vars.get(env::secret_arn_variable(name)) else {
                continue;
            };
            let secret = arn["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: the ARN of {name} is not a Ref: {arn}"));
            assert_eq!(
                resources[secret]["Type"], "AWS::SecretsManager::Secret",
                "{id}: {name} names {secret}, which is not a secret of the stack"
            );
            let previous = by_variable.insert((*name).to_owned(), secret.to_owned());
            assert!(
                previous.is_none() || previous.as_deref() == Some(secret),
                "{name} names {secret} in {id} and {previous:?} elsewhere"
            );
        }
    }
    let mut secrets: Vec<&String> = by_variable.values().collect();
    secrets.sort_unstable();
    secrets.dedup();
    assert_eq!(
        secrets.len(),
        by_variable.len(),
        "two variables share a secret: {by_variable:?}"
    );
    by_variable
}
