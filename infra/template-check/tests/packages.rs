//! What the deployed packages are built from. `sam build` runs `cargo lambda build --release --arm64
//! --bin <function>` at the workspace root (the template's `CodeUri`), without `-p`: Cargo then selects
//! the workspace's default members and unifies the features of everything it selected. The default
//! members are the ten functions, so a deployed function carries none of the features that the tests,
//! the benchmarks and the local stack turn on.

use std::collections::BTreeSet;
use std::process::Command;

use payments_api::settings::Function;
use serde_json::Value;
use template_check::root;

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo prints UTF-8")
}

#[test]
fn a_build_without_a_package_selects_the_ten_functions() {
    let metadata: Value = serde_json::from_str(&cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]))
    .expect("cargo metadata prints JSON");
    let default_members: BTreeSet<&str> = metadata["workspace_default_members"]
        .as_array()
        .expect("workspace_default_members")
        .iter()
        .map(|id| {
            metadata["packages"]
                .as_array()
                .expect("packages")
                .iter()
                .find(|p| p["id"] == *id)
                .and_then(|p| p["name"].as_str())
                .expect("every default member is a workspace package")
        })
        .collect();
    let functions: BTreeSet<&str> = Function::ALL.iter().map(|f| f.crate_name()).collect();
    assert_eq!(default_members, functions);
}

#[test]
fn the_deployed_functions_carry_no_test_feature() {
    // The same selection as sam build's (no `-p`), for the deployed architecture, normal dependencies.
    let tree = cargo(&[
        "tree",
        "--offline",
        "--locked",
        "--target",
        "aarch64-unknown-linux-gnu",
        "-e",
        "normal,features",
        "--prefix",
        "none",
    ]);
    let lines: BTreeSet<&str> = tree.lines().map(|l| l.trim_end_matches(" (*)")).collect();
    for function in Function::ALL {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{} v", function.crate_name()))),
            "{} is built",
            function.crate_name()
        );
    }
    let test_only = [
        "payments-domain feature \"testing\"",
        "payments-domain feature \"decorators\"",
        "payments-api feature \"testing\"",
        "payments-api feature \"live-stack\"",
        "payments-api feature \"axum\"",
        "payments-dynamodb feature \"testing\"",
        "payments-sqs feature \"testing\"",
    ];
    for feature in test_only {
        assert!(
            !lines.contains(feature),
            "the deployed packages turn on {feature}"
        );
    }
    for package in [
        "glase-sandbox",
        "test-support",
        "jsonschema",
        "dynoxide-rs",
        "axum",
        // The regex engine of `tracing-subscriber`'s `EnvFilter`: the functions filter logs by target.
        "regex-automata",
    ] {
        assert!(
            !lines.iter().any(|l| l.starts_with(&format!("{package} v"))),
            "the deployed packages link {package}"
        );
    }
}
