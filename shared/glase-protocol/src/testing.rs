//! Test support for this crate and the crates that build on it (feature `testing`).

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// Log lines kept in memory: a writer whose clones share one buffer, for a tracing subscriber's
/// `with_writer(move || capture.clone())`; [`LogCapture::text`] reads back what was written.
#[derive(Clone, Debug, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Everything written so far (bytes that are not UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
