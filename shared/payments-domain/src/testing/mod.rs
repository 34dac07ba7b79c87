//! In-memory fakes of every port, for unit tests of the use cases and of the function handlers.
//!
//! The fake store keeps the same conditional semantics as the real one (insert-if-absent,
//! update-if-revision-matches, all-or-nothing multi-item writes), so a handler test that passes here
//! exercises the same decisions it takes against DynamoDB. The fake Glase gateway answers from a script
//! and records every call; the clock is set by hand; ids come from a counter.
//!
//! # Layout
//! - `store`: [`InMemoryStore`].
//! - `glase`: [`FakeGlase`] and the [`GlaseCall`]s it records.
//! - `doubles`: [`RecordingQueue`], [`RecordingPush`], [`ManualClock`], [`SequentialIds`],
//!   [`test_client_secret_key`] and [`fake_deps`].

mod doubles;
mod glase;
mod store;

use std::sync::{Mutex, MutexGuard};

pub use doubles::{
    FakeDeps, FakePorts, ManualClock, RecordingPush, RecordingQueue, SequentialIds, fake_deps,
    fake_deps_with, test_client_secret_key,
};
pub use glase::{FakeGlase, GlaseCall};
pub use store::InMemoryStore;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
