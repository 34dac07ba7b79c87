//! A fault-injecting [`PaymentStore`] decorator for soak tests: [`FaultyStore`] fails a configured share
//! of requests with [`StoreError::Throttled`] and of conditional updates with
//! [`StoreError::ConditionFailed`], in both cases **without** passing the request on, so nothing is
//! written: exactly what DynamoDB's throttling and a lost race look like to the use cases.
//!
//! Conflicts are injected only where a concurrent writer really can move the revision: updates and
//! transactions of payments, refunds, terminals and periods (`update_*`, `settle_refund`,
//! `create_refund`, `insert_payment_on_terminal`). Inserts of fresh ids cannot lose a race, and an
//! idempotency record is only taken over by another request after its lease expired (minutes, not the
//! milliseconds of a soak's race), so those are only throttled. The draws come from a small seeded generator (no I/O, no
//! dependency), so a run can be repeated; clones share the generator and the counts.
//!
//! [`PaymentStore`]: crate::ports::PaymentStore

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use crate::hooked::{Hooked, StoreCall, StoreCallKind, StoreHook};
use crate::ports::StoreError;

/// One in a million: the unit of the rates (integers, so no float arithmetic is needed).
pub const PER_MILLION: u32 = 1_000_000;

/// How often to fail, in parts per million, and the generator's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreFaultRates {
    /// The share of all requests answered [`StoreError::Throttled`], per million.
    pub throttle_ppm: u32,
    /// The share of conditional updates (that were not throttled) answered [`StoreError::ConditionFailed`],
    /// per million.
    pub conflict_ppm: u32,
    /// The seed of the generator.
    pub seed: u64,
}

impl StoreFaultRates {
    /// No faults at all: the decorator passes every request through.
    pub const NONE: StoreFaultRates = StoreFaultRates {
        throttle_ppm: 0,
        conflict_ppm: 0,
        seed: 1,
    };

    /// Whether any fault can be injected.
    pub fn is_active(&self) -> bool {
        self.throttle_ppm > 0 || self.conflict_ppm > 0
    }
}

impl std::fmt::Display for StoreFaultRates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let share = |ppm: u32| format!("{}.{:06}", ppm / PER_MILLION, ppm % PER_MILLION);
        write!(
            f,
            "throttle={},conflict={},seed={}",
            share(self.throttle_ppm),
            share(self.conflict_ppm),
            self.seed
        )
    }
}

/// `0`, `1`, `0.05`, `.5`, `1.0` (at most six decimals) as parts per million; `None` outside 0 to 1.
fn parse_share(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || fraction.len() > 6 || (whole.is_empty() && fraction.is_empty())
    {
        return None;
    }
    let whole: u32 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction: u32 = format!("{fraction:0<6}").parse().ok()?;
    let ppm = whole.checked_mul(PER_MILLION)?.checked_add(fraction)?;
    (ppm <= PER_MILLION).then_some(ppm)
}

/// Why a fault specification cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("store faults: {0} (expected e.g. throttle=0.05,conflict=0.05,seed=7)")]
pub struct StoreFaultsParseError(String);

impl FromStr for StoreFaultRates {
    type Err = StoreFaultsParseError;

    /// Parses `throttle=P,conflict=P[,seed=N]`; every part is optional, an empty text means no faults.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut rates = StoreFaultRates::NONE;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| StoreFaultsParseError(format!("{part:?} is not name=value")))?;
            let probability = || {
                parse_share(value)
                    .ok_or_else(|| StoreFaultsParseError(format!("{name}: {value:?} is not between 0 and 1")))
            };
            match name {
                "throttle" => rates.throttle_ppm = probability()?,
                "conflict" => rates.conflict_ppm = probability()?,
                "seed" => {
                    rates.seed = value
                        .parse()
                        .map_err(|_| StoreFaultsParseError(format!("seed: {value:?} is not a number")))?;
                }
                other => return Err(StoreFaultsParseError(format!("unknown fault {other:?}"))),
            }
        }
        Ok(rates)
    }
}

/// What the decorator did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreFaultCounts {
    /// Requests seen (failed or passed on).
    pub requests: u64,
    /// Requests answered [`StoreError::Throttled`].
    pub throttled: u64,
    /// Conditional updates answered [`StoreError::ConditionFailed`].
    pub conflicts: u64,
}

#[derive(Debug)]
struct FaultState {
    rng: u64,
    counts: StoreFaultCounts,
}

impl FaultState {
    /// splitmix64: small, seedable, good enough for deciding faults. Answers a draw below one million.
    fn next_ppm(&mut self) -> u32 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        u32::try_from(z % u64::from(PER_MILLION)).unwrap_or(0)
    }

    fn hits(&mut self, ppm: u32) -> bool {
        ppm > 0 && self.next_ppm() < ppm
    }
}

/// Wraps a store and fails some of its requests (see the module documentation). Clones share the
/// generator and the counts.
pub type FaultyStore<S> = Hooked<S, StoreFaults>;

/// The hook of [`FaultyStore`]: decides, for each request, whether it is throttled and (for a
/// conditional update) whether it loses an injected race. Clones share the generator and the counts.
#[derive(Clone, Debug)]
pub struct StoreFaults {
    rates: StoreFaultRates,
    state: Arc<Mutex<FaultState>>,
}

impl StoreFaults {
    /// Fails requests at `rates`.
    pub fn new(rates: StoreFaultRates) -> Self {
        StoreFaults {
            rates,
            state: Arc::new(Mutex::new(FaultState {
                rng: rates.seed,
                counts: StoreFaultCounts::default(),
            })),
        }
    }

    /// The rates it was built with.
    pub fn rates(&self) -> StoreFaultRates {
        self.rates
    }

    /// What was injected so far.
    pub fn counts(&self) -> StoreFaultCounts {
        self.state.lock().map(|s| s.counts).unwrap_or_default()
    }
}

impl StoreHook for StoreFaults {
    /// Counts a request and decides whether it is throttled, and (for a conditional update) whether it
    /// loses an injected race. `Ok` means: pass it on.
    fn before(&self, call: StoreCall) -> Result<(), StoreError> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        state.counts.requests += 1;
        if state.hits(self.rates.throttle_ppm) {
            state.counts.throttled += 1;
            return Err(StoreError::Throttled);
        }
        if call.kind == StoreCallKind::Conditional && state.hits(self.rates.conflict_ppm) {
            state.counts.conflicts += 1;
            return Err(StoreError::ConditionFailed);
        }
        Ok(())
    }
}

impl<S> FaultyStore<S> {
    /// Wraps `inner`, failing requests at `rates`.
    pub fn new(inner: S, rates: StoreFaultRates) -> Self {
        Hooked::with_hook(inner, StoreFaults::new(rates))
    }

    /// The rates it was built with.
    pub fn rates(&self) -> StoreFaultRates {
        self.hook().rates()
    }

    /// What was injected so far.
    pub fn counts(&self) -> StoreFaultCounts {
        self.hook().counts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{GlaseTerminalId, TerminalId, Timestamp};
    use crate::order::{DisplayName, ExternalTerminalId};
    use crate::ports::PaymentStore;
    use crate::terminal::{Terminal, TerminalState};
    use crate::testing::InMemoryStore;

    fn terminal(n: u8) -> Terminal {
        Terminal::registered(
            TerminalId::from_random([n; 16]),
            ExternalTerminalId::parse(&format!("Till {n}")).unwrap(),
            DisplayName::parse("Till").unwrap(),
            GlaseTerminalId::parse(&format!("glase-till-{n}")).unwrap(),
            Timestamp::from_unix_millis(1_700_000_000_000),
        )
    }

    fn rates(throttle_ppm: u32, conflict_ppm: u32) -> StoreFaultRates {
        StoreFaultRates {
            throttle_ppm,
            conflict_ppm,
            seed: 7,
        }
    }

    #[test]
    fn a_specification_parses_and_bad_ones_are_named() {
        assert_eq!(
            "throttle=0.05,conflict=.1,seed=9".parse::<StoreFaultRates>(),
            Ok(StoreFaultRates {
                throttle_ppm: 50_000,
                conflict_ppm: 100_000,
                seed: 9
            })
        );
        let full = "throttle=1,conflict=0.000001".parse::<StoreFaultRates>().unwrap();
        assert_eq!((full.throttle_ppm, full.conflict_ppm), (PER_MILLION, 1));
        assert_eq!(full.to_string(), "throttle=1.000000,conflict=0.000001,seed=1");
        assert_eq!("".parse::<StoreFaultRates>(), Ok(StoreFaultRates::NONE));
        assert!(!StoreFaultRates::NONE.is_active());
        assert!(" conflict=1 ".parse::<StoreFaultRates>().unwrap().is_active());
        for bad in [
            "throttle",
            "throttle=2",
            "throttle=1.5",
            "throttle=-0.1",
            "throttle=.",
            "throttle=0.0000001",
            "conflict=x",
            "seed=-1",
            "drop=0.1",
        ] {
            let e = bad.parse::<StoreFaultRates>().unwrap_err();
            assert!(e.to_string().starts_with("store faults: "), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn without_faults_every_request_passes_through_and_is_counted() {
        let store = FaultyStore::new(InMemoryStore::new(), StoreFaultRates::NONE);
        let t = terminal(1);
        store.insert_terminal(&t).await.unwrap();
        let changed = t.unregistered(Timestamp::from_unix_millis(1)).unwrap();
        store.update_terminal(&changed, t.revision()).await.unwrap();
        let read = store.get_terminal(t.id()).await.unwrap().unwrap();
        assert!(matches!(read.state(), TerminalState::Unregistered { .. }));
        assert_eq!(
            store.counts(),
            StoreFaultCounts {
                requests: 3,
                throttled: 0,
                conflicts: 0
            }
        );
    }

    #[tokio::test]
    async fn a_throttled_request_writes_nothing() {
        let store = FaultyStore::new(InMemoryStore::new(), rates(PER_MILLION, 0));
        let t = terminal(2);
        assert_eq!(store.insert_terminal(&t).await, Err(StoreError::Throttled));
        assert_eq!(store.get_terminal(t.id()).await, Err(StoreError::Throttled));
        assert_eq!(store.inner().get_terminal(t.id()).await, Ok(None));
        assert_eq!(store.counts().throttled, 2);
        assert_eq!(store.counts().conflicts, 0);
    }

    #[tokio::test]
    async fn an_injected_conflict_fails_only_conditional_updates_and_writes_nothing() {
        let store = FaultyStore::new(InMemoryStore::new(), rates(0, PER_MILLION));
        let t = terminal(3);
        // A fresh insert cannot lose a race: never a conflict.
        store.insert_terminal(&t).await.unwrap();
        let changed = t.unregistered(Timestamp::from_unix_millis(1)).unwrap();
        assert_eq!(
            store.update_terminal(&changed, t.revision()).await,
            Err(StoreError::ConditionFailed)
        );
        let stored = store.inner().get_terminal(t.id()).await.unwrap().unwrap();
        assert_eq!(stored, t, "the injected conflict wrote nothing");
        // The same update still applies through the wrapped store: the revision never moved.
        store
            .inner()
            .update_terminal(&changed, t.revision())
            .await
            .unwrap();
        assert_eq!(store.counts().conflicts, 1);
        assert_eq!(store.counts().requests, 2);
    }

    #[test]
    fn the_share_follows_the_rate_and_the_seed_repeats_a_run() {
        let draws = |seed: u64| {
            let store = FaultyStore::new(
                (),
                StoreFaultRates {
                    throttle_ppm: 50_000,
                    conflict_ppm: 200_000,
                    seed,
                },
            );
            let update = StoreCall {
                operation: "update_payment",
                kind: StoreCallKind::Conditional,
            };
            let outcomes: Vec<Result<(), StoreError>> =
                (0..20_000).map(|_| store.hook().before(update)).collect();
            (outcomes, store.counts())
        };
        let (first, counts) = draws(11);
        // 5 % of 20,000 throttled, then 20 % of the rest conflicted; well inside four standard deviations.
        assert!((850..=1150).contains(&counts.throttled), "{counts:?}");
        assert!((3450..=4150).contains(&counts.conflicts), "{counts:?}");
        assert_eq!(counts.requests, 20_000);
        assert_eq!(draws(11).0, first, "the same seed gives the same faults");
        assert_ne!(draws(12).0, first, "another seed gives other faults");
    }
}
