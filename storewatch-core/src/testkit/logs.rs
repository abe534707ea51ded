//! Capturing what is logged, for the tests that prove secrets never reach the logs.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::subscriber::DefaultGuard;

/// Every log line (all levels, `tracing`'s text format) written on this thread while it
/// lives. Made by [`capture`].
///
/// ```
/// let logs = storewatch_core::testkit::logs::capture();
/// tracing::trace!(attempt = 2, "retrying");
/// assert!(logs.text().contains("retrying attempt=2"));
/// ```
#[must_use = "logs are captured only while the capture lives"]
pub struct LogCapture {
    buffer: Buffer,
    _default: DefaultGuard,
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture")
            .field("bytes", &self.buffer.lock().len())
            .finish()
    }
}

/// Sets a TRACE-level subscriber for the current thread (so use a current-thread
/// runtime, `#[tokio::test]`'s default) that writes into a buffer.
///
/// Other tests of the same binary may have left callsites cached as "nobody listens";
/// the cache is rebuilt so every event reaches the capture.
pub fn capture() -> LogCapture {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let default = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    LogCapture {
        buffer,
        _default: default,
    }
}

impl LogCapture {
    /// What has been logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock()).into_owned()
    }
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
