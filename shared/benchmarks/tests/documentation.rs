//! The figures in the documentation are the latest results document's, rendered by `bench-report`.

use benchmarks::report::{block, render, render_bars};
use serde_json::Value;

fn repository_file(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn results() -> Value {
    serde_json::from_str(&repository_file("shared/benchmarks/results.json")).expect("results.json is JSON")
}

const RENDER_AGAIN: &str =
    "run `cargo run -p benchmarks --bin bench-report -- --from shared/benchmarks/results.json`";

#[test]
fn the_readme_shows_the_bars_of_the_latest_results() {
    let readme = repository_file("README.md");
    let shown = block(&readme, "bench-bars").expect("README.md has a bench-bars block");
    assert_eq!(
        shown,
        render_bars(&results()),
        "README.md's bars differ from results.json: {RENDER_AGAIN}"
    );
}

#[test]
fn the_benchmarks_guide_shows_every_table_of_the_latest_results() {
    let guide = repository_file("shared/benchmarks/README.md");
    let shown =
        block(&guide, "bench-results").expect("shared/benchmarks/README.md has a bench-results block");
    assert_eq!(
        shown,
        render(&results()),
        "shared/benchmarks/README.md's tables differ from results.json: {RENDER_AGAIN}"
    );
}

#[test]
fn the_results_document_records_every_bar_as_it_is_judged_today() {
    let document = results();
    let stored: Vec<(String, Value)> = document["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .map(|b| {
            (
                b["measure"].as_str().unwrap_or_default().to_owned(),
                b["met"].clone(),
            )
        })
        .collect();
    let judged: Vec<(String, Value)> =
        benchmarks::report::bars(&benchmarks::report::Inputs::from_document(&document))
            .iter()
            .map(|b| (b.what.to_owned(), serde_json::json!(b.met)))
            .collect();
    assert_eq!(stored, judged, "{RENDER_AGAIN}");
}
