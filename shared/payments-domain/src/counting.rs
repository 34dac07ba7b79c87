//! Counting decorators: a [`PaymentStore`] and a [`GlaseGateway`] that pass every call through to the
//! wrapped implementation and count it by operation, so tests and benchmarks can say how many store
//! requests and Glase calls a payment costs, measured rather than estimated. [`Counting`] is the
//! [`Hooked`] decorator with a [`CountingHook`].
//!
//! [`PaymentStore`]: crate::ports::PaymentStore
//! [`GlaseGateway`]: crate::ports::GlaseGateway

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::hooked::{GlaseCall, GlaseHook, Hooked, StoreCall, StoreHook};
use crate::ports::{GlaseError, StoreError};

/// Calls by operation name (the port method's name).
pub type CallCounts = BTreeMap<&'static str, u64>;

/// Told each operation's name as its call starts, before the wrapped implementation sees it (benchmarks
/// use it to take the time a Glase call leaves).
pub type Observer = Arc<dyn Fn(&'static str) + Send + Sync>;

/// Wraps a port implementation and counts the calls made through it. Clones share their counts.
pub type Counting<T> = Hooked<T, CountingHook>;

/// The hook of [`Counting`]: counts each call by operation, tells the observer, and passes every call on.
/// Clones share their counts.
#[derive(Clone, Default)]
pub struct CountingHook {
    counts: Arc<Mutex<CallCounts>>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for CountingHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingHook")
            .field("counts", &self.counts())
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

impl CountingHook {
    /// The calls so far, by operation.
    pub fn counts(&self) -> CallCounts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn tick(&self, operation: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.entry(operation).or_insert(0) += 1;
        }
        if let Some(observer) = &self.observer {
            observer(operation);
        }
    }
}

impl StoreHook for CountingHook {
    fn before(&self, call: StoreCall) -> Result<(), StoreError> {
        self.tick(call.operation);
        Ok(())
    }
}

impl GlaseHook for CountingHook {
    fn before(&self, call: GlaseCall) -> Result<(), GlaseError> {
        self.tick(call.operation);
        Ok(())
    }
}

impl<T> Counting<T> {
    /// Wraps `inner` with all counts at zero.
    pub fn new(inner: T) -> Self {
        Hooked::with_hook(inner, CountingHook::default())
    }

    /// Wraps `inner` as [`Counting::new`] does and tells `observer` of every call as it starts.
    pub fn observed(inner: T, observer: Observer) -> Self {
        Hooked::with_hook(
            inner,
            CountingHook {
                counts: Arc::default(),
                observer: Some(observer),
            },
        )
    }

    /// The calls so far, by operation.
    pub fn counts(&self) -> CallCounts {
        self.hook().counts()
    }

    /// The calls of one operation so far.
    pub fn count(&self, operation: &str) -> u64 {
        self.counts().get(operation).copied().unwrap_or(0)
    }

    /// All calls so far.
    pub fn total(&self) -> u64 {
        self.counts().values().sum()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        if let Ok(mut c) = self.hook().counts.lock() {
            c.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PaymentId;
    use crate::ports::PaymentStore;
    use crate::testing::InMemoryStore;

    #[tokio::test]
    async fn an_observer_hears_each_call_as_it_starts_and_the_call_is_still_counted() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&heard);
        let store = Counting::observed(
            InMemoryStore::new(),
            Arc::new(move |op| sink.lock().unwrap().push(op)),
        );
        let id = PaymentId::from_random([7; 16]);
        assert_eq!(store.get_payment(&id).await, Ok(None));
        assert_eq!(store.list_refunds(&id).await, Ok(Vec::new()));
        assert_eq!(*heard.lock().unwrap(), vec!["get_payment", "list_refunds"]);
        assert_eq!(store.count("get_payment"), 1);
        assert_eq!(store.total(), 2);
        assert!(format!("{store:?}").contains("observed: true"));
    }
}
