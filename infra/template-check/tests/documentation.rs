//! The documentation keeps up with the code: every route, every variable a function reads and every
//! alarm has its line, and the README's commands are the ones that really run.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use payments_api::config::EnvSource;
use payments_api::routes::Route;
use payments_api::settings::{Function, SdkTimeouts, Settings, env};
use payments_api::telemetry::{LogFormat, LogSettings};
use template_check::{root, template};

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of the section under `heading` (a whole heading line such as `## Configuration`), up to
/// the next heading of the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut lines = text.lines().skip_while(|l| l.trim_end() != heading);
    assert!(lines.next().is_some(), "no `{heading}` heading");
    lines
        .take_while(|l| {
            let hashes = l.chars().take_while(|c| *c == '#').count();
            !(hashes > 0 && hashes <= level && l[hashes..].starts_with(' '))
        })
        .collect()
}

/// The first cells of the table rows in `lines` (the row's first column, without the header rows).
fn first_cells<'a>(lines: &[&'a str]) -> BTreeSet<&'a str> {
    lines
        .iter()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .filter_map(|l| l.split('|').nth(1).map(str::trim))
        .collect()
}

fn missing(expected: impl IntoIterator<Item = String>, cells: &BTreeSet<&str>) -> Vec<String> {
    expected
        .into_iter()
        .filter(|name| !cells.contains(name.as_str()))
        .collect()
}

fn routes() -> Vec<String> {
    Route::TEMPLATES
        .iter()
        .map(|(method, path)| format!("`{method} {path}`"))
        .collect()
}

#[test]
fn every_route_is_in_the_readmes_table_and_in_the_api_guide() {
    let readme = read("README.md");
    let guide = read("shared/payments-api/API.md");
    let in_readme = first_cells(&section(&readme, "## The API at a glance"));
    let in_guide = first_cells(&section(&guide, "## Routes"));
    assert_eq!(
        missing(routes(), &in_readme),
        Vec::<String>::new(),
        "routes missing from README.md"
    );
    assert_eq!(
        missing(routes(), &in_guide),
        Vec::<String>::new(),
        "routes missing from the API guide"
    );
    // And no route is documented that the router does not serve.
    let served: BTreeSet<String> = routes().into_iter().collect();
    for cells in [&in_readme, &in_guide] {
        let extra: Vec<&&str> = cells
            .iter()
            .filter(|c| c.starts_with('`') && !served.contains(**c))
            .collect();
        assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    }
}

/// An environment that records every variable asked for, over a complete environment.
struct Recording {
    values: BTreeMap<String, String>,
    asked: RefCell<BTreeSet<String>>,
}

impl EnvSource for Recording {
    fn get(&self, name: &str) -> Option<String> {
        self.asked.borrow_mut().insert(name.to_owned());
        self.values.get(name).cloned()
    }
}

#[test]
fn every_variable_a_function_reads_is_in_the_configuration_table() {
    let recording = Recording {
        values: payments_api::testing::complete_env(),
        asked: RefCell::default(),
    };
    for function in Function::ALL {
        Settings::load(*function, &recording).unwrap_or_else(|e| panic!("{function:?}: {e}"));
    }
    SdkTimeouts::load(&recording).expect("the SDK timeouts load");
    LogSettings::from_env(&recording, LogFormat::Json);
    let mut read_by_functions = recording.asked.into_inner();
    // Secrets come through `<NAME>_SECRET_ARN` in AWS.
    read_by_functions.extend(env::SECRETS.iter().map(|name| env::secret_arn_variable(name)));

    let guide = read("infra/README.md");
    let table = first_cells(&section(&guide, "## Configuration"));
    let expected = read_by_functions.iter().map(|name| {
        if name.ends_with("_SECRET_ARN") {
            "`<NAME>_SECRET_ARN`".to_owned()
        } else {
            format!("`{name}`")
        }
    });
    assert_eq!(
        missing(expected, &table),
        Vec::<String>::new(),
        "variables the functions read but infra/README.md's configuration table does not list"
    );
}

#[test]
fn every_alarm_of_the_template_is_in_the_runbook_and_the_readme() {
    let template = template();
    let alarms: Vec<String> = template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, _)| format!("`{id}`"))
        .collect();
    assert!(alarms.len() >= 5, "the template's alarms: {alarms:?}");
    let runbook = read("infra/README.md");
    let readme = read("README.md");
    let in_runbook = first_cells(&section(&runbook, "## Runbook"));
    let in_readme = first_cells(&section(&readme, "## Operating it"));
    assert_eq!(
        missing(alarms.clone(), &in_runbook),
        Vec::<String>::new(),
        "alarms missing from the runbook"
    );
    assert_eq!(
        missing(alarms, &in_readme),
        Vec::<String>::new(),
        "alarms missing from README.md"
    );
}

/// The shell commands of the first `sh` code block in `lines`.
fn commands(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .skip_while(|l| l.trim() != "```sh")
        .skip(1)
        .take_while(|l| l.trim() != "```")
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_readmes_test_command_is_the_one_ci_runs() {
    let readme = read("README.md");
    let test = commands(&section(&readme, "## Run the tests"));
    assert_eq!(test, ["bash tests/run.sh"], "README.md's test command");
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == test[0]),
        ".ci/run does not run `{}`",
        test[0]
    );
}

#[test]
fn the_readmes_run_command_starts_the_local_stack_with_options_it_takes() {
    let readme = read("README.md");
    let run = commands(&section(&readme, "## Quick start"));
    assert_eq!(run.len(), 1, "one command runs the system: {run:?}");
    let (cargo, options) = run[0]
        .split_once(" -- ")
        .unwrap_or_else(|| panic!("`{}` passes no options", run[0]));
    assert_eq!(cargo, "cargo run --release -p glase-local");
    let usage = read("infra/glase-local/src/args.rs");
    for option in options.split_whitespace().filter(|o| o.starts_with("--")) {
        assert!(
            usage.contains(&format!("[{option} ")),
            "glase-local's usage does not list {option}"
        );
    }
}

#[test]
fn the_readme_is_at_most_250_lines() {
    let lines = read("README.md").lines().count();
    assert!(lines <= 250, "README.md has {lines} lines");
}

/// Every Markdown file of the repository, outside build and dependency folders.
fn markdown_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | "node_modules" | ".git" | ".local" | "artifacts"
                ) {
                    walk(&path, found);
                }
            } else if name.ends_with(".md") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&root(), &mut found);
    found.sort();
    found
}

/// Where a second sentence starts inside `line`: a full stop after a word, a space, then a capital, a
/// code span or emphasis; abbreviations such as "e.g." do not end a sentence.
fn second_sentence(line: &str) -> Option<usize> {
    let text = line.trim_start();
    // A list item's number is not a sentence.
    let text = match text.split_once(". ") {
        Some((number, rest)) if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => text,
    };
    let bytes = text.as_bytes();
    (1..bytes.len().saturating_sub(2)).find(|&i| {
        bytes[i] == b'.'
            && bytes[i + 1] == b' '
            && (bytes[i - 1].is_ascii_lowercase()
                || bytes[i - 1].is_ascii_digit()
                || b")`*\"".contains(&bytes[i - 1]))
            && (bytes[i + 2].is_ascii_uppercase() || b"`*".contains(&bytes[i + 2]))
            && !["e.g", "i.e", "vs", "etc", "cf"]
                .iter()
                .any(|a| text[..i].ends_with(a))
    })
}

#[test]
fn markdown_is_written_one_sentence_per_line() {
    let mut found = Vec::new();
    for path in markdown_files() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut in_code = false;
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            if in_code || line.starts_with('|') {
                continue;
            }
            if second_sentence(line).is_some() {
                let shown = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
                found.push(format!("{shown}:{}: {line}", number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "lines holding more than one sentence:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_second_sentence_is_found_and_abbreviations_and_list_numbers_are_not() {
    assert!(second_sentence("One sentence. Another one.").is_some());
    assert!(second_sentence("Ends with code `x`. Then more.").is_some());
    assert_eq!(second_sentence("1. Open the shop, e.g. the demo. "), None);
    assert_eq!(second_sentence("Amounts like 1.5 and `HTTP://SEQR.SE/R…`."), None);
    assert_eq!(second_sentence("  2. **Hand `id` over**, never the key."), None);
}
