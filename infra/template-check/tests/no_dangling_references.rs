//! No file of the repository refers to an issue number or to a document that is not in the repository:
//! every comment states its fact itself, or names a file here or a public source. Markdown documents are
//! not read here; the documentation test checks them.
//!
//! What counts as a dangling reference:
//! - one of the project documents kept outside the repository ([`OUTSIDE_DOCUMENTS`]), or any other
//!   Markdown file that is not in the repository;
//! - a relative path through `..` to `shared` that resolves to nothing inside the repository, read from
//!   the file's directory or from its crate's (a sibling checkout, say);
//! - an issue number: the word "issue" (or "issues", "ticket") followed by a number, or `#` followed by
//!   a number where a reference stands (after a space, `(`, `[` or `,`, and ending the word). Rust
//!   attributes (`#[`), HTML entities (`&#13;`), anchors (`"#top"`), format specs (`{:#04x}`), Markdown
//!   headings and CSS colours (`color: #222`) are not issue numbers.

use std::path::{Component, Path, PathBuf};

/// The documents of the project that live outside the repository (their names without `.md`).
const OUTSIDE_DOCUMENTS: &[&str] = &["PROTOCOL", "DESIGN", "STYLE", "EVENTS-REFERENCE"];

/// Directories never read, by name wherever they are: build output, Git's own, installed packages and
/// Python's caches.
const SKIPPED_NAMES: &[&str] = &["target", ".git", "node_modules", "__pycache__"];

/// Directories never read, by path from the root: the fuzzers' build output, the tests' artifacts and
/// the local stack's data.
const SKIPPED_PATHS: &[&str] = &["tests/fuzz/target", "tests/artifacts", ".local"];

/// The repository's root directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"))
}

/// Every regular file under `root` outside the skipped directories, as paths relative to `root`
/// (symbolic links are not followed).
fn files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(root.join(&dir))
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.join(&dir).display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
            let name = entry.file_name();
            let path = dir.join(&name);
            let kind = entry
                .file_type()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if kind.is_dir() {
                let skipped = SKIPPED_NAMES.iter().any(|n| name == *n)
                    || SKIPPED_PATHS.iter().any(|p| path == Path::new(p));
                if !skipped {
                    pending.push(path);
                }
            } else if kind.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Bytes a path written in prose or code is made of.
fn is_path_byte(b: u8) -> bool {
    is_word_byte(b) || matches!(b, b'.' | b'/' | b'-')
}

/// Where in `text` (ASCII case ignored) `needle` starts, every time.
fn positions(text: &str, needle: &str) -> Vec<usize> {
    let text = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    text.match_indices(&needle).map(|(i, _)| i).collect()
}

/// What the repository holds, for resolving the paths a line names.
struct Repository {
    root: PathBuf,
    /// Every Markdown file, relative to the root with `/` between components.
    markdown: Vec<String>,
}

impl Repository {
    /// Whether some Markdown file of the repository is `name` (a file name or the end of a path).
    fn has_markdown(&self, name: &str) -> bool {
        let name = name.rsplit("../").next().unwrap_or(name);
        let name = name.trim_start_matches("./").trim_start_matches('/');
        let name = name.to_ascii_lowercase();
        self.markdown.iter().any(|m| {
            let m = m.to_ascii_lowercase();
            m == name || m.ends_with(&format!("/{name}"))
        })
    }

    /// The directories a relative path in the file at `file` is read from: the file's own (`#[path]`,
    /// `include_str!`, a script's `$(dirname "$0")`, a manifest's `path =`) and its crate's
    /// (`env!("CARGO_MANIFEST_DIR")`), the nearest directory above it with a `Cargo.toml`.
    fn bases(&self, file: &Path) -> Vec<PathBuf> {
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut bases = vec![dir.clone()];
        if let Some(krate) = dir
            .ancestors()
            .find(|d| self.root.join(d).join("Cargo.toml").is_file())
        {
            bases.push(krate.to_path_buf());
        }
        bases
    }

    /// Whether `relative` (starting with `..`) names something inside the repository when read from
    /// one of the [`Repository::bases`] of `file`.
    fn resolves(&self, file: &Path, relative: &str) -> bool {
        self.bases(file).iter().any(|base| {
            let mut resolved = Vec::new();
            for part in base.join(relative).components() {
                match part {
                    Component::Normal(p) => resolved.push(p.to_owned()),
                    Component::ParentDir => {
                        // Above the root: outside the repository.
                        let left = resolved.pop();
                        if left.is_none() {
                            return false;
                        }
                    }
                    _ => {}
                }
            }
            let path: PathBuf = resolved.iter().collect();
            self.root.join(path).exists()
        })
    }

    /// The dangling references in `line` of the file at `file` (relative to the root), each described
    /// once (a name inside a path already described is not described again).
    fn dangling(&self, file: &Path, line: &str) -> Vec<String> {
        let mut found: Vec<(String, &str)> = Vec::new();
        for name in outside_documents(line) {
            found.push((name, "a document outside the repository"));
        }
        for path in shared_paths(line) {
            if !self.resolves(file, &path) {
                found.retain(|(named, _)| !overlap(named, &path));
                found.push((path, "a path outside the repository"));
            }
        }
        for name in markdown_names(line) {
            let described = found.iter().any(|(named, _)| overlap(named, &name));
            if !described && !self.has_markdown(&name) {
                found.push((name, "a document that is not in the repository"));
            }
        }
        if let Some(reference) = issue_word(line).or_else(|| issue_hash(line)) {
            found.push((reference, "an issue number"));
        }
        found
            .into_iter()
            .map(|(reference, what)| format!("`{reference}`, {what}"))
            .collect()
    }
}

/// Whether one of two references (ASCII case ignored) holds the other.
fn overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.contains(&b) || b.contains(&a)
}

/// The project documents kept outside the repository that `line` names.
fn outside_documents(line: &str) -> Vec<String> {
    OUTSIDE_DOCUMENTS
        .iter()
        .map(|stem| format!("{stem}.md"))
        .filter(|name| !positions(line, name).is_empty())
        .collect()
}

/// The Markdown files `line` names (`README.md` or a path to it), URLs left out.
fn markdown_names(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut names = Vec::new();
    for end in positions(line, ".md") {
        let after = end + 3;
        if bytes.get(after).is_some_and(|&b| is_word_byte(b)) {
            continue;
        }
        let mut start = end;
        while start > 0 && is_path_byte(bytes[start - 1]) {
            start -= 1;
        }
        let name = &line[start..after];
        let stem_empty = name.len() == 3 || name.as_bytes()[name.len() - 4] == b'/';
        let url = name.starts_with("//") || line[..start].ends_with(':');
        if !stem_empty && !url {
            names.push(name.to_owned());
        }
    }
    names
}

/// `..` followed by `/shared`, put together so that this file does not hold it as written.
const UP_TO_SHARED: &str = concat!("..", "/shared");

/// The relative paths through `..` to `shared` in `line` ([`UP_TO_SHARED`], also after more `../`),
/// each from its first `..`.
fn shared_paths(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut paths = Vec::new();
    for at in positions(line, UP_TO_SHARED) {
        let mut start = at;
        while start >= 3 && &bytes[start - 3..start] == b"../" {
            start -= 3;
        }
        if start > 0 && is_path_byte(bytes[start - 1]) {
            continue; // A path that goes down before it goes up does not start with `..`.
        }
        let mut end = at + UP_TO_SHARED.len();
        if bytes.get(end).is_some_and(|&b| is_word_byte(b) || b == b'-') {
            continue; // `shared-x` or `shared_x` is another directory.
        }
        while end < bytes.len() && is_path_byte(bytes[end]) {
            end += 1;
        }
        // A sentence's full stop is not part of the path.
        paths.push(line[start..end].trim_end_matches(['.', '/']).to_owned());
    }
    paths
}

/// The first issue number written out in `line`: the word "issue", "issues" or "ticket", then spaces
/// and a `#` if any, then digits.
fn issue_word(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    for word in ["issue", "ticket"] {
        for at in positions(line, word) {
            if at > 0 && is_word_byte(bytes[at - 1]) {
                continue;
            }
            let mut i = at + word.len();
            if bytes.get(i).is_some_and(|b| b.eq_ignore_ascii_case(&b's')) {
                i += 1;
            }
            while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
            if bytes.get(i) == Some(&b'#') {
                i += 1;
            }
            let digits = bytes[i.min(bytes.len())..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                return Some(line[at..i + digits].to_owned());
            }
        }
    }
    None
}

/// Whether the `#` at `at` (followed by `digits` digits) is a CSS colour: three, four, six or eight
/// digits in a declaration (`color: #222`, `border: 1px solid #000000`).
fn is_colour(line: &str, at: usize, digits: usize) -> bool {
    if ![3, 4, 6, 8].contains(&digits) {
        return false;
    }
    let before = &line[..at];
    let declaration = before
        .rfind(['{', ';', '"', '\'', '`'])
        .map_or(before, |i| &before[i + 1..])
        .trim_start();
    let property = declaration
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || *b == b'-')
        .count();
    property > 0 && declaration[property..].trim_start().starts_with(':')
}

/// The first `#` with a number in `line` that stands where a reference does: after the line's start,
/// a space, `(`, `[` or `,`, and ending its word; CSS colours are left out.
fn issue_hash(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    for (at, _) in line.match_indices('#') {
        let starts_reference = at == 0 || matches!(bytes[at - 1], b' ' | b'\t' | b'(' | b'[' | b',');
        if !starts_reference {
            continue;
        }
        let digits = bytes[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            continue;
        }
        let end = at + 1 + digits;
        if bytes.get(end).is_some_and(|&b| is_word_byte(b) || b == b'-') {
            continue;
        }
        if is_colour(line, at, digits) {
            continue;
        }
        return Some(line[at..end].to_owned());
    }
    None
}

#[test]
fn no_file_refers_to_an_issue_number_or_a_document_outside_the_repository() {
    let root = root();
    let files = files(&root);
    let repository = Repository {
        root: root.clone(),
        markdown: files
            .iter()
            .filter(|f| is_markdown(f))
            .map(|f| f.to_string_lossy().replace('\\', "/"))
            .collect(),
    };
    assert!(
        repository.markdown.iter().any(|m| m == "README.md"),
        "the walk starts at the repository's root: {}",
        root.display()
    );
    let mut read = 0;
    let mut dangling = Vec::new();
    for file in files.iter().filter(|f| !is_markdown(f)) {
        let bytes = std::fs::read(root.join(file)).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Images and other binary files hold no prose.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        read += 1;
        for (n, line) in text.lines().enumerate() {
            for what in repository.dangling(file, line) {
                dangling.push(format!("{}:{}: {what}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(read > 100, "only {read} text files read under {}", root.display());
    assert!(
        dangling.is_empty(),
        "{} dangling references (state the fact itself, or name a file in the repository or a public \
         source):\n{}",
        dangling.len(),
        dangling.join("\n")
    );
}

/// The sample lines of the tests below that must be flagged are put together at run time, so that this
/// file holds none of them as written.
fn hash(n: u32) -> String {
    format!("{}{n}", '#')
}

fn sample_repository() -> Repository {
    Repository {
        root: root(),
        markdown: vec!["README.md".into(), "shared/lambda-bench/README.md".into()],
    }
}

#[test]
fn issue_numbers_are_found_in_their_usual_forms() {
    let repository = sample_repository();
    let file = Path::new("shared/x/src/lib.rs");
    for line in [
        format!("/// Found by the soak (issue {}): the store throttled.", hash(13)),
        format!("// See {} for the rest.", hash(12)),
        format!("// The retry ({}).", hash(21)),
        format!("# Fixes {}, {}", hash(3), hash(4)),
        format!("description = \"The soak (Issue {})\"", hash(13)),
        format!("// As in issue {}.", 7),
        format!("// Issues {} and 9.", 8),
        format!("// ticket {}", hash(1234)),
        format!("{} is open", hash(5)),
        format!(
            "// é{}: plus de détails (issue {}).",
            concat!("..", "/shared/é"),
            hash(2)
        ),
    ] {
        assert!(
            !repository.dangling(file, &line).is_empty(),
            "not flagged: {line}"
        );
    }
}

#[test]
fn attributes_colours_anchors_entities_and_headings_are_not_issue_numbers() {
    let repository = sample_repository();
    let file = Path::new("shared/x/src/lib.rs");
    for line in [
        "#[derive(Debug)]",
        "#![forbid(unsafe_code)]",
        "body{{color:#222}} .paid{{color:#1a7f5a}}",
        "<p style=\"color: #222\">",
        "  border: 1px solid #000000;",
        ".dark_color(svg::Color(\"#000000\"))",
        "a carriage return becomes `&#13;`",
        "<a href=\"#2\">back</a>",
        "## 2. Payments",
        "# 3 retries at most",
        "println!(\"{:#04x}\", n); let s = r#\"x\"#;",
        "echo \"$# arguments\" ${#list[@]}",
        "an issue_date, the issues of the day, tissue 3",
        "see https://github.com/awslabs/aws-sdk-rust/issues/12",
        "version 1.2#3",
    ] {
        assert_eq!(repository.dangling(file, line), Vec::<String>::new(), "{line}");
    }
}

#[test]
fn documents_and_paths_outside_the_repository_are_found_and_those_inside_are_not() {
    let repository = sample_repository();
    let fuzz = Path::new("tests/fuzz/Cargo.toml");
    let outside = [
        concat!("// The wire format is in PROTOCOL", ".md §4.2."),
        concat!("// See the design (design", ".md)."),
        concat!("# STYLE", ".md says so"),
        concat!("// The EVENTS-REFERENCE", ".md table."),
        concat!("// As ..", "/shared/PROTOCOL", ".md says."),
        concat!("// Kept in ..", "/shared/glase-notes."),
        concat!("// Kept in ..", "/shared."),
        concat!("// The steps are in NOTES", ".md."),
    ];
    for line in outside {
        assert!(!repository.dangling(fuzz, line).is_empty(), "not flagged: {line}");
    }
    let inside = [
        concat!("glase-protocol = { path = \"../..", "/shared/glase-protocol\" }"),
        "// The README.md lists the commands.",
        concat!(
            "// shared/lambda-bench/README",
            ".md lists the benchmarks; ./README",
            ".md the rest."
        ),
        "// The documentation test reads every *.md file.",
        "// See https://github.com/awslabs/smithy-rs/blob/main/CHANGELOG.md for the changes.",
    ];
    for line in inside {
        assert_eq!(repository.dangling(fuzz, line), Vec::<String>::new(), "{line}");
    }
}
