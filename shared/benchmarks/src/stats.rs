//! Percentiles of latency samples, in integer nanoseconds.

use serde::{Deserialize, Serialize};

/// Percentiles of a set of durations, in nanoseconds (nearest-rank).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
}

/// The nearest-rank `pct`-th percentile of `sorted` (ascending); 0 for no samples.
pub fn percentile(sorted: &[u64], pct: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len() as u64;
    // Nearest rank: the smallest value with at least pct % of the samples at or below it.
    let rank = (pct.min(100) * n).div_ceil(100).max(1);
    sorted[usize::try_from(rank - 1).unwrap_or(0)]
}

/// The summary of `samples` (sorted in place).
pub fn summarize(samples: &mut [u64]) -> Summary {
    samples.sort_unstable();
    Summary {
        count: samples.len() as u64,
        p50_ns: percentile(samples, 50),
        p90_ns: percentile(samples, 90),
        p99_ns: percentile(samples, 99),
        max_ns: samples.last().copied().unwrap_or(0),
    }
}

/// The median of `samples` (sorted in place); 0 for none.
pub fn median(samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    percentile(samples, 50)
}

/// Nanoseconds as milliseconds with three decimals, e.g. `1.234`.
pub fn ms(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, (ns / 1_000) % 1_000)
}

/// A duration in nanoseconds, saturating.
pub fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<u64> = (1..=100).rev().collect();
        let s = summarize(&mut samples);
        assert_eq!(
            (s.count, s.p50_ns, s.p90_ns, s.p99_ns, s.max_ns),
            (100, 50, 90, 99, 100)
        );
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[1, 2], 50), 1);
        assert_eq!(percentile(&[1, 2], 51), 2);
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(median(&mut [5, 1, 3]), 3);
    }

    #[test]
    fn milliseconds_are_printed_with_three_decimals() {
        assert_eq!(ms(1_234_567), "1.234");
        assert_eq!(ms(999), "0.000");
        assert_eq!(ms(20_005_000), "20.005");
    }
}
