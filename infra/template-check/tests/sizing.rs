//! Memory and timeouts of the template against the benchmark figures in shared/benchmarks/results.json
//! and the functions' settings.

use std::collections::BTreeMap;
use std::time::Duration;

use payments_api::settings::{DEFAULT_GLASE_TIMEOUT, Function, Need};
use template_check::{json, template};

/// (memory MB, timeout s) of every function resource, by crate.
fn sizes() -> BTreeMap<String, (u64, u64)> {
    let template = template();
    template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Function")
        .map(|r| {
            let p = &r["Properties"];
            let key = p["Code"]["S3Key"].as_str().expect("S3Key");
            (
                key.trim_end_matches(".zip").to_owned(),
                (
                    p["MemorySize"].as_u64().expect("MemorySize"),
                    p["Timeout"].as_u64().expect("Timeout"),
                ),
            )
        })
        .collect()
}

/// Lambda's smallest memory size, in MB.
const LAMBDA_MINIMUM_MB: u64 = 128;

/// Headroom over the measured peak: allocations grow with payload sizes the benchmark events do not have.
const HEADROOM: u64 = 4;

#[test]
fn every_function_has_four_times_its_measured_peak_memory() {
    let results = json("shared/benchmarks/results.json");
    let sizes = sizes();
    for function in Function::ALL {
        let name = function.crate_name();
        let peak_kib = results["lambda"]["functions"][name]["peak_rss_kib"]
            .as_u64()
            .unwrap_or_else(|| panic!("results.json has no peak RSS for {name}: run tests/bench.sh"));
        let (memory_mb, _) = sizes[name];
        assert!(
            memory_mb * 1024 >= HEADROOM * peak_kib,
            "{name}: {memory_mb} MB for a measured peak of {peak_kib} KiB"
        );
    }
}

#[test]
fn glase_callers_get_twice_the_minimum_for_tls_and_the_others_the_minimum() {
    let sizes = sizes();
    for function in Function::ALL {
        let (memory_mb, _) = sizes[function.crate_name()];
        let expected = if function.needs().contains(&Need::Glase) {
            2 * LAMBDA_MINIMUM_MB
        } else {
            LAMBDA_MINIMUM_MB
        };
        assert_eq!(memory_mb, expected, "{}", function.crate_name());
    }
}

#[test]
fn a_glase_caller_outlives_a_whole_glase_attempt() {
    // The default per-attempt timeout (GLASE_TIMEOUT_MS), which no function's environment overrides.
    let glase_attempt = DEFAULT_GLASE_TIMEOUT;
    let template = template();
    let sizes = sizes();
    for resource in template["Resources"].as_object().expect("Resources").values() {
        assert!(
            resource["Properties"]["Environment"]["Variables"]["GLASE_TIMEOUT_MS"].is_null(),
            "a function sets GLASE_TIMEOUT_MS: compare its timeout with that value here"
        );
    }
    for function in Function::ALL {
        let (_, timeout_s) = sizes[function.crate_name()];
        if function.needs().contains(&Need::Glase) {
            assert!(
                Duration::from_secs(timeout_s) > glase_attempt,
                "{}: {timeout_s} s cannot hold one {glase_attempt:?} Glase attempt",
                function.crate_name()
            );
        }
    }
}
