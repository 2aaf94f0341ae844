//! The agent's pauses between attempts (reconnecting to the server, resending while it is
//! busy, the session helper reaching the service): exponential with jitter, from backon, so
//! a fleet that lost its server comes back spread out rather than all at once.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// A sequence of growing pauses that starts over after a success.
#[derive(Debug)]
pub struct Pauses {
    builder: ExponentialBuilder,
    current: <ExponentialBuilder as BackoffBuilder>::Backoff,
    longest: Duration,
}

impl Pauses {
    /// Pauses from `first` doubling up to `cap`, each stretched by a random 0–100 %: so never
    /// shorter than the step, and never longer than `2 × cap`.
    #[must_use]
    pub fn new(first: Duration, cap: Duration) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(first)
            .with_max_delay(cap)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        Self {
            builder,
            current: builder.build(),
            longest: cap * 2,
        }
    }

    /// The pause before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.current
            .next()
            .unwrap_or(self.longest)
            .min(self.longest)
    }

    /// After a success: the next pause is the first again.
    pub fn reset(&mut self) {
        self.current = self.builder.build();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_with_up_to_one_step_of_jitter_and_start_over() {
        let second = Duration::from_secs(1);
        let mut pauses = Pauses::new(second, 30 * second);
        for step in [1, 2, 4, 8, 16, 30, 30, 30] {
            let d = pauses.next_delay();
            let base = step * second;
            assert!(d >= base && d < base * 2, "step {step}: {d:?}");
        }
        for _ in 0..50 {
            assert!(pauses.next_delay() <= 60 * second);
        }
        pauses.reset();
        assert!(pauses.next_delay() < 2 * second);
    }
}
