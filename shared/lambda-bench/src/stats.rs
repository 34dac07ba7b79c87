//! Medians and percentiles over integer microseconds, and their rendering as milliseconds.
//!
//! Everything is integer arithmetic (the workspace forbids float arithmetic); milliseconds and ratios
//! are rendered as exact decimal text and turned into JSON numbers from that text.

/// The median of `values` (the lower middle for an even count); `None` when empty.
pub fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return None;
    }
    sorted.get((sorted.len() - 1) / 2).copied()
}

/// The `p`-th percentile (1..=100) of `values` by the nearest-rank method; `None` when empty.
pub fn percentile(values: &[u64], p: u32) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return None;
    }
    let p = usize::try_from(p.clamp(1, 100)).unwrap_or(100);
    // Nearest rank: ceil(p / 100 × n), 1-based.
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Microseconds as milliseconds with three decimals, e.g. `12.345`.
pub fn ms_text(us: u64) -> String {
    format!("{}.{:03}", us / 1_000, us % 1_000)
}

/// Microseconds as milliseconds with one decimal (for the table), e.g. `12.3`.
pub fn ms_short(us: u64) -> String {
    format!("{}.{}", us / 1_000, (us % 1_000) / 100)
}

/// `numerator / denominator` with two decimals, e.g. `2.35`; `None` when the denominator is zero.
pub fn ratio_text(numerator: u64, denominator: u64) -> Option<String> {
    if denominator == 0 {
        return None;
    }
    Some(hundredths_text(
        u128::from(numerator) * 100 / u128::from(denominator),
    ))
}

/// Hundredths as a decimal text, e.g. 235 as `2.35`.
pub fn hundredths_text(hundredths: u128) -> String {
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// A decimal text as a JSON number (`null` if it is not one).
pub fn json_number(text: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Number>(text)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// Microseconds as a JSON number of milliseconds.
pub fn ms_json(us: u64) -> serde_json::Value {
    json_number(&ms_text(us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_whatever_the_order() {
        assert_eq!(median(&[5, 1, 3]), Some(3));
        assert_eq!(median(&[9]), Some(9));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_lower_middle() {
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 99), Some(99));
        assert_eq!(percentile(&values, 100), Some(100));
        assert_eq!(percentile(&values, 1), Some(1));
        assert_eq!(percentile(&[7, 3], 99), Some(7));
        assert_eq!(percentile(&[7, 3], 50), Some(3));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn the_p99_of_a_thousand_values_is_the_990th() {
        let values: Vec<u64> = (1..=1_000).collect();
        assert_eq!(percentile(&values, 99), Some(990));
    }

    #[test]
    fn milliseconds_and_ratios_are_exact_decimals() {
        assert_eq!(ms_text(12_345), "12.345");
        assert_eq!(ms_text(7), "0.007");
        assert_eq!(ms_short(12_345), "12.3");
        assert_eq!(ratio_text(235, 100).as_deref(), Some("2.35"));
        assert_eq!(ratio_text(1, 3).as_deref(), Some("0.33"));
        assert_eq!(ratio_text(1, 0), None);
        assert_eq!(ms_json(1_500), serde_json::json!(1.5));
    }
}
