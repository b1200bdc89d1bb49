//! Latency samples and their percentiles.
//!
//! A run records at most a few hundred thousand samples, so keeping every one (microseconds
//! in a `Vec`) and sorting once is exact and cheaper than a histogram's bookkeeping.

use std::time::Duration;

use serde::Serialize;

/// Latency samples in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    micros: Vec<u64>,
}

impl Samples {
    pub fn record(&mut self, latency: Duration) {
        self.micros
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// Count, mean, p50/p90/p99/p99.9 and max in milliseconds; `None` without samples.
    pub fn summary(&self) -> Option<Summary> {
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        let max = *sorted.last()?;
        let sum: u128 = sorted.iter().map(|&m| u128::from(m)).sum();
        let count = sorted.len();
        Some(Summary {
            count,
            mean_ms: millis_f64(sum as f64 / count as f64),
            p50_ms: millis(percentile(&sorted, 500)),
            p90_ms: millis(percentile(&sorted, 900)),
            p99_ms: millis(percentile(&sorted, 990)),
            p999_ms: millis(percentile(&sorted, 999)),
            max_ms: millis(max),
        })
    }
}

/// The figures of a set of samples, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The nearest-rank percentile of sorted, non-empty samples: the smallest sample that at
/// least `per_mille`/1000 of the samples do not exceed. Integer arithmetic, so p99.9 of
/// 1000 samples is the 999th and not, by rounding, the 1000th.
fn percentile(sorted: &[u64], per_mille: usize) -> u64 {
    let rank = (per_mille * sorted.len()).div_ceil(1000);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(micros: u64) -> f64 {
    millis_f64(micros as f64)
}

/// Milliseconds with microsecond precision, rounded so reports don't show float noise.
fn millis_f64(micros: f64) -> f64 {
    micros.round() / 1000.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn samples(micros: impl IntoIterator<Item = u64>) -> Samples {
        let mut samples = Samples::default();
        for m in micros {
            samples.record(Duration::from_micros(m));
        }
        samples
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(Samples::default().summary(), None);
    }

    #[test]
    fn nearest_rank_percentiles_over_one_to_a_thousand() {
        // Recorded out of order: the summary sorts.
        let s = samples((1..=1000).rev().map(|ms| ms * 1000)).summary().unwrap();
        assert_eq!(s.count, 1000);
        assert_eq!(s.p50_ms, 500.0);
        assert_eq!(s.p90_ms, 900.0);
        assert_eq!(s.p99_ms, 990.0);
        assert_eq!(s.p999_ms, 999.0);
        assert_eq!(s.max_ms, 1000.0);
        assert_eq!(s.mean_ms, 500.5);
    }

    #[test]
    fn a_single_outlier_shows_in_the_tail_only() {
        let mut all: Vec<u64> = vec![2_000; 99];
        all.push(250_000);
        let s = samples(all).summary().unwrap();
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.p90_ms, 2.0);
        assert_eq!(s.p99_ms, 2.0);
        assert_eq!(s.max_ms, 250.0);
        let one = samples([1_234]).summary().unwrap();
        assert_eq!((one.p50_ms, one.p99_ms, one.max_ms), (1.234, 1.234, 1.234));
    }

    #[test]
    fn merging_keeps_every_sample() {
        let mut a = samples([1_000, 3_000]);
        a.merge(samples([2_000]));
        assert_eq!(a.len(), 3);
        assert_eq!(a.summary().unwrap().p50_ms, 2.0);
    }
}
