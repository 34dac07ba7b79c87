//! Where benchmark results are written: one JSON file per benchmark under `target/bench/` of the
//! workspace (or `$BENCH_OUT_DIR`), which `bench-report` gathers.

use std::path::PathBuf;

/// The directory results are written to.
pub fn out_dir() -> PathBuf {
    match std::env::var_os("BENCH_OUT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench"),
    }
}

/// Writes `value` as `<name>.json` in [`out_dir`] and answers the path.
pub fn write(name: &str, value: &serde_json::Value) -> std::io::Result<PathBuf> {
    let dir = out_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(&path, text + "\n")?;
    Ok(path)
}

/// The current time as RFC 3339 (UTC), for the result documents.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
