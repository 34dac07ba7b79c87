//! Lines written by a tracing subscriber or a metrics writer, kept in memory.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Log or metric lines kept in memory: a writer whose clones share one buffer (for a tracing
/// subscriber's `with_writer(move || lines.clone())`, say), read back as text or as JSON lines.
#[derive(Clone, Debug, Default)]
pub struct CapturedLines(Arc<Mutex<Vec<u8>>>);

impl CapturedLines {
    /// Everything written so far (bytes that are not UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer()).into_owned()
    }

    /// The lines written so far that are JSON values, in order.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    fn buffer(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Write for CapturedLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_lines_and_json_lines_skip_the_others() {
        let lines = CapturedLines::default();
        let mut writer = lines.clone();
        writer.write_all(b"plain\n{\"a\":1}\n").unwrap();
        assert_eq!(lines.text(), "plain\n{\"a\":1}\n");
        assert_eq!(lines.json_lines(), vec![serde_json::json!({"a": 1})]);
    }
}
