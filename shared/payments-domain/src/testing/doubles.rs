//! The other doubles: a recording queue and push port, a manual clock, sequential ids, and the use
//! cases over all the fakes ([`fake_deps`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{FakeGlase, InMemoryStore, lock};
use crate::ids::Timestamp;
use crate::ports::{
    Clock, ConnectionId, IdGenerator, PushError, QueueError, RefundMessage, RefundQueue, StatusPush,
    StatusUpdate,
};
use crate::secret::ClientSecretKey;

/// A queue that records what was sent; can be made to fail.
#[derive(Clone, Default, Debug)]
pub struct RecordingQueue {
    sent: Arc<Mutex<Vec<RefundMessage>>>,
    failing: Arc<Mutex<bool>>,
}

impl RecordingQueue {
    /// The messages sent so far.
    pub fn sent(&self) -> Vec<RefundMessage> {
        lock(&self.sent).clone()
    }

    /// Makes every send fail (or succeed again).
    pub fn set_failing(&self, failing: bool) {
        *lock(&self.failing) = failing;
    }
}

impl RefundQueue for RecordingQueue {
    async fn enqueue(&self, message: &RefundMessage) -> Result<(), QueueError> {
        if *lock(&self.failing) {
            return Err(QueueError::Unavailable {
                reason: "the test queue is down".into(),
            });
        }
        lock(&self.sent).push(message.clone());
        Ok(())
    }
}

/// A push port that records what was pushed; connections named `gone…` answer `Gone`.
#[derive(Clone, Default, Debug)]
pub struct RecordingPush {
    pushed: Arc<Mutex<Vec<(ConnectionId, StatusUpdate)>>>,
}

impl RecordingPush {
    /// Everything pushed so far.
    pub fn pushed(&self) -> Vec<(ConnectionId, StatusUpdate)> {
        lock(&self.pushed).clone()
    }
}

impl StatusPush for RecordingPush {
    async fn push(&self, connection: &ConnectionId, update: &StatusUpdate) -> Result<(), PushError> {
        if connection.as_str().starts_with("gone") {
            return Err(PushError::Gone);
        }
        lock(&self.pushed).push((connection.clone(), update.clone()));
        Ok(())
    }
}

/// A clock set by hand. Clones share the time.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicU64>);

impl Default for ManualClock {
    fn default() -> Self {
        // 2026-11-22T09:00:00Z.
        ManualClock(Arc::new(AtomicU64::new(1_795_338_000_000)))
    }
}

impl ManualClock {
    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(i64::try_from(self.0.load(Ordering::SeqCst)).unwrap_or(i64::MAX))
    }
}

/// Ids from a counter: deterministic and distinct.
#[derive(Clone, Default, Debug)]
pub struct SequentialIds(Arc<AtomicU64>);

impl IdGenerator for SequentialIds {
    fn random_128(&self) -> [u8; 16] {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        let mut bytes = [0u8; 16];
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        bytes[0] = 0xa5;
        bytes
    }

    fn client_secret_key(&self) -> Option<&ClientSecretKey> {
        Some(test_client_secret_key())
    }
}

/// The client secret key of the fakes: fixed, so tests can derive the secret of any payment id.
pub fn test_client_secret_key() -> &'static ClientSecretKey {
    static KEY: std::sync::OnceLock<ClientSecretKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        ClientSecretKey::parse("the fakes' client secret key, 32+ bytes").expect("a long enough key")
    })
}

/// The in-memory fakes of every port, with the id generator `I` (sequential ids unless said).
pub type FakePorts<I = SequentialIds> = (
    InMemoryStore,
    FakeGlase,
    RecordingQueue,
    RecordingPush,
    ManualClock,
    I,
);

/// The use cases over the in-memory fakes, with the id generator `I` (sequential ids unless said).
pub type FakeDeps<I = SequentialIds> = crate::usecases::Deps<FakePorts<I>>;

/// Use cases over fresh fakes that share one manual clock, with sequential ids and `settings`.
pub fn fake_deps(settings: crate::usecases::UseCaseSettings) -> FakeDeps {
    fake_deps_with(SequentialIds::default(), settings)
}

/// Like [`fake_deps`], with the id generator `ids`.
pub fn fake_deps_with<I: IdGenerator>(ids: I, settings: crate::usecases::UseCaseSettings) -> FakeDeps<I> {
    let clock = ManualClock::default();
    crate::usecases::Deps {
        store: InMemoryStore::new(),
        glase: FakeGlase::new(clock.clone()),
        queue: RecordingQueue::default(),
        push: RecordingPush::default(),
        clock,
        ids,
        settings,
    }
}
