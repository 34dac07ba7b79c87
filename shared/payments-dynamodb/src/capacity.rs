//! The capacity DynamoDB reports as consumed by the store's requests.
//!
//! Every request the store sends asks for `ReturnConsumedCapacity = TOTAL` (it costs nothing but a few
//! bytes of answer) and adds what comes back to the store's [`CapacityMeter`]. The meter is what the
//! benchmarks read to state read and write capacity units per payment from the service's own figures
//! rather than from item sizes. A request that fails (a conditional write that loses, a throttled one)
//! is counted as a request, but its error answer carries no capacity, so its units are not included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::ConsumedCapacity;

/// Running totals of requests and capacity units, shared by every clone of a store.
#[derive(Clone, Debug, Default)]
pub struct CapacityMeter {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    read_requests: AtomicU64,
    write_requests: AtomicU64,
    read_milli_units: AtomicU64,
    write_milli_units: AtomicU64,
}

/// A snapshot of a [`CapacityMeter`]. Units are in thousandths, so a strongly consistent read of a small
/// item is 1000 and an eventually consistent one 500.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapacityTotals {
    /// Read requests sent (GetItem, each Query page).
    pub read_requests: u64,
    /// Write requests sent (PutItem, DeleteItem, TransactWriteItems).
    pub write_requests: u64,
    /// Read capacity units consumed, in thousandths.
    pub read_milli_units: u64,
    /// Write capacity units consumed (the table's and its indexes'), in thousandths.
    pub write_milli_units: u64,
}

/// Which side of the meter a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Read,
    Write,
}

impl CapacityMeter {
    /// A meter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The totals so far.
    pub fn totals(&self) -> CapacityTotals {
        let c = &self.inner;
        CapacityTotals {
            read_requests: c.read_requests.load(Ordering::Relaxed),
            write_requests: c.write_requests.load(Ordering::Relaxed),
            read_milli_units: c.read_milli_units.load(Ordering::Relaxed),
            write_milli_units: c.write_milli_units.load(Ordering::Relaxed),
        }
    }

    /// Sets every total back to zero.
    pub fn reset(&self) {
        let c = &self.inner;
        for counter in [
            &c.read_requests,
            &c.write_requests,
            &c.read_milli_units,
            &c.write_milli_units,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Counts one request of `side` and the capacity its answer reported (none for a failed request).
    pub(crate) fn record<'a>(&self, side: Side, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        let (requests, units) = match side {
            Side::Read => (&self.inner.read_requests, &self.inner.read_milli_units),
            Side::Write => (&self.inner.write_requests, &self.inner.write_milli_units),
        };
        requests.fetch_add(1, Ordering::Relaxed);
        let milli: u64 = consumed
            .into_iter()
            .filter_map(ConsumedCapacity::capacity_units)
            .map(milli_units)
            .sum();
        units.fetch_add(milli, Ordering::Relaxed);
    }
}

/// Capacity units (DynamoDB reports them as floating point: halves for eventually consistent reads) in
/// thousandths, rounded. These are not money; no amount is ever computed in floating point.
#[allow(
    clippy::float_arithmetic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn milli_units(units: f64) -> u64 {
    if units.is_finite() && units > 0.0 {
        (units * 1000.0).round() as u64
    } else {
        0
    }
}

/// The capacity a request's answer reported: none when it failed.
pub(crate) fn written<'a, O, E>(
    result: &'a Result<O, E>,
    consumed: impl Fn(&'a O) -> Option<&'a ConsumedCapacity>,
) -> Option<&'a ConsumedCapacity> {
    result.as_ref().ok().and_then(consumed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumed(units: f64) -> ConsumedCapacity {
        ConsumedCapacity::builder()
            .table_name("t")
            .capacity_units(units)
            .build()
    }

    #[test]
    fn reads_and_writes_are_counted_apart_in_thousandths() {
        let meter = CapacityMeter::new();
        meter.record(Side::Read, [&consumed(0.5)]);
        meter.record(Side::Read, [&consumed(1.0)]);
        meter.record(Side::Write, [&consumed(2.0), &consumed(1.0)]);
        meter.record(Side::Write, []);
        assert_eq!(
            meter.totals(),
            CapacityTotals {
                read_requests: 2,
                write_requests: 2,
                read_milli_units: 1500,
                write_milli_units: 3000,
            }
        );
    }

    #[test]
    fn clones_share_the_totals_and_reset_clears_them() {
        let meter = CapacityMeter::new();
        let clone = meter.clone();
        clone.record(Side::Write, [&consumed(1.0)]);
        assert_eq!(meter.totals().write_milli_units, 1000);
        meter.reset();
        assert_eq!(clone.totals(), CapacityTotals::default());
    }

    #[test]
    fn nonsense_units_count_as_none() {
        assert_eq!(milli_units(f64::NAN), 0);
        assert_eq!(milli_units(-1.0), 0);
        assert_eq!(milli_units(0.25), 250);
    }
}
