//! Shared measuring code for LLF's benchmarks (in `benches/`). Each benchmark measures LLF and a
//! baseline in the same run and prints both with their ratio, so a figure never stands alone.
#![allow(clippy::print_stdout)] // printing figures is the point of this crate

use std::time::{Duration, Instant};

/// Summary of repeated timings.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Number of samples.
    pub samples: usize,
}

/// Times `f` `samples` times (after `samples / 10` warm-up calls) and summarises.
pub fn measure<T>(samples: usize, mut f: impl FnMut() -> T) -> Timing {
    for _ in 0..samples / 10 {
        std::hint::black_box(f());
    }
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    summarize(&mut times)
}

/// Summarises measured durations.
pub fn summarize(times: &mut [Duration]) -> Timing {
    times.sort_unstable();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Timing {
        p50: at(0.5),
        p99: at(0.99),
        samples: times.len(),
    }
}

/// Prints `llf` against `baseline` with the ratio of medians.
pub fn report(name: &str, baseline: Timing, llf: Timing) {
    let ratio = llf.p50.as_secs_f64() / baseline.p50.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "{name}: baseline p50 {:?} p99 {:?} | llf p50 {:?} p99 {:?} | ratio {ratio:.2} ({} samples)",
        baseline.p50, baseline.p99, llf.p50, llf.p99, llf.samples
    );
}
