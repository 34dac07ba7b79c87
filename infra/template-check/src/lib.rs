//! Drift tests between the committed CloudFormation translation of `infra/template.yaml`
//! (`infra/generated/template.json`) and the workspace: `tests/drift.rs` (functions, variables, routes,
//! table, queues, wildcards), `tests/least_privilege.rs` (each role against what its function's code
//! uses) and `tests/sizing.rs` (memory and timeouts against the benchmark figures).
//!
//! This library holds what the tests share: where the workspace is and how its JSON files are read.

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
