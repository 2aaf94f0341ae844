//! The bench's clock and latency histograms.
//!
//! Agents and dashboards run in the same process, so a send time written into a snapshot by an
//! agent and a receive time taken by a dashboard come from one monotonic clock: microseconds
//! since the run's start.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Microseconds since the run started, from one monotonic clock shared by every task.
#[derive(Debug, Clone, Copy)]
pub struct BenchClock {
    start: Instant,
}

impl BenchClock {
    /// A clock starting now.
    #[must_use]
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// Microseconds elapsed.
    #[must_use]
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The instant `us` microseconds after the start.
    #[must_use]
    pub fn at(&self, us: u64) -> Instant {
        self.start + Duration::from_micros(us)
    }
}

/// A latency distribution in microseconds, 1 µs to 10 min at three significant digits.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty histogram.
    #[must_use]
    pub fn new() -> Self {
        Self(
            Histogram::new_with_bounds(1, 600_000_000, 3)
                .expect("constant bounds: low >= 1, high >= 2 * low, precision <= 5"),
        )
    }

    /// Records one latency; values past the bounds are clamped.
    pub fn record(&mut self, micros: u64) {
        self.0.saturating_record(micros.max(1));
    }

    /// Adds another histogram's values.
    pub fn merge(&mut self, other: &Self) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// Count and percentiles, in milliseconds.
    #[must_use]
    pub fn summary(&self) -> LatencySummary {
        let h = &self.0;
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// A [`Latency`] many tasks record into. Each histogram takes some 170 KiB, too much to give
/// every one of thousands of agents its own. A std mutex: nothing awaits while it is held.
#[derive(Debug, Clone, Default)]
pub struct SharedLatency(Arc<Mutex<Latency>>);

impl SharedLatency {
    /// Records one latency.
    pub fn record(&self, micros: u64) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(micros);
    }

    /// A copy of what was recorded so far.
    #[must_use]
    pub fn snapshot(&self) -> Latency {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A latency distribution summed up, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest value.
    pub max_ms: f64,
}

impl std::fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.count == 0 {
            return f.write_str("no samples");
        }
        write!(
            f,
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} samples)",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms, self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_out_in_milliseconds() {
        let mut a = Latency::new();
        let mut b = Latency::new();
        for us in 1..=1000 {
            a.record(us * 1000);
        }
        b.record(5_000_000);
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.count, 1001);
        assert!((s.p50_ms - 500.0).abs() < 2.5, "{s:?}");
        assert!((s.max_ms - 5000.0).abs() < 5.0, "{s:?}");
        assert_eq!(Latency::new().summary().count, 0);
    }
}
